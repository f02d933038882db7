import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_CANARY_PERCENT, deployBundledModel, ensureSampleProfile } from '../../cli/bootstrap.js';
import { deployModel, loadModel, modelStreamId, retireAcceptanceProfile, shiftTraffic } from '../../commands/index.js';
import { SAMPLE_PROFILE } from '../../domain/acceptance/index.js';
import { ModelStore } from '../../inference/model-store.js';
import { SessionPool } from '../../inference/session-pool.js';
import { FsBlobStore } from '../../infra/blob/fs-blob-store.js';
import { createLogger } from '../../infra/logging.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { shippedModelFiles } from '../inference/support/shipped.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';

describe('the bundled model at start', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let sessions: SessionPool;
  let root: string;
  let runtime: { store: PostgresEventStore; logger: ReturnType<typeof createLogger> };
  let models: ModelStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    await migrate(pool);
    root = await mkdtemp(join(tmpdir(), 'chitti-bootstrap-'));
    sessions = new SessionPool();
    models = new ModelStore(new FsBlobStore(join(root, 'blobs')), { pool: sessions });
    runtime = { store: new PostgresEventStore(pool), logger: createLogger({ level: 'silent' }) };
  });

  afterAll(async () => {
    await sessions?.close();
    await pool?.end();
    await db?.drop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('deploys the newest shipped version once, and after an upgrade runs the new one as a canary', async () => {
    const { trained, untrained } = await shippedModelFiles();
    const bundled = join(root, 'bundled');
    await mkdir(bundled);
    await copyFile(untrained[0]!, join(bundled, 'weld-1.0.0.onnx'));
    // A deployment file from before per-class confidences: no classConfidence (every class at confidence).
    const shipped = { confidence: 0.3, iou: 0.45, maxDetections: 200, classConfidence: {} };
    const { classConfidence: _none, ...shippedFile } = shipped;
    await writeFile(join(bundled, 'weld.deployment.json'), JSON.stringify({ thresholds: shippedFile }));

    await deployBundledModel(runtime, models, 'weld', bundled);
    const first = await loadModel(runtime, 'weld');
    expect(Object.keys(first.state.versions)).toEqual(['1.0.0']);
    expect(first.state.weights).toEqual({ '1.0.0': 100 });
    expect(first.state.versions['1.0.0']!.thresholds).toEqual(shipped);

    // A restart with nothing new appends nothing.
    await deployBundledModel(runtime, models, 'weld', bundled);
    expect((await loadModel(runtime, 'weld')).version).toBe(first.version);

    // Chitti upgraded: a newer file ships with its own deployment file and per-class confidences.
    // It goes live as a canary beside the serving version, at its shipped thresholds.
    const perClass = { ...shipped, classConfidence: { crack: 0.3, porosity: 0.65 } };
    await copyFile(trained.at(-1)!, join(bundled, 'weld-1.1.0.onnx'));
    await writeFile(join(bundled, 'weld-1.1.0.deployment.json'), JSON.stringify({ thresholds: perClass }));
    await deployBundledModel(runtime, models, 'weld', bundled);
    const upgraded = await loadModel(runtime, 'weld');
    expect(Object.keys(upgraded.state.versions).sort()).toEqual(['1.0.0', '1.1.0']);
    expect(upgraded.state.weights).toEqual({ '1.0.0': 100 - BUNDLED_CANARY_PERCENT, '1.1.0': BUNDLED_CANARY_PERCENT });
    expect(upgraded.state.versions['1.1.0']!.thresholds).toEqual(perClass);
    expect(upgraded.state.versions['1.0.0']!.thresholds).toEqual(shipped);
    const deployed = (await runtime.store.readStream(modelStreamId('weld')))
      .filter((e) => e.type === 'ModelDeployed')
      .at(-1);
    expect(deployed?.data).toMatchObject({
      version: '1.1.0',
      canary: true,
      deployedBy: 'system:bootstrap',
      thresholds: perClass,
    });

    await deployBundledModel(runtime, models, 'weld', bundled);
    expect((await loadModel(runtime, 'weld')).version).toBe(upgraded.version);

    // The operator rolls the canary back: later starts leave it there.
    await shiftTraffic(runtime, { name: 'weld', weights: { '1.0.0': 100 } }, { actor: 'operator' });
    const rolledBack = await loadModel(runtime, 'weld');
    await deployBundledModel(runtime, models, 'weld', bundled);
    expect((await loadModel(runtime, 'weld')).version).toBe(rolledBack.version);
    expect(rolledBack.state.weights).toEqual({ '1.0.0': 100 });

    // Or promotes it, naming no thresholds: it serves at the shipped ones.
    await deployModel(runtime, { name: 'weld', version: '1.1.0' }, { actor: 'operator' });
    const promoted = await loadModel(runtime, 'weld');
    expect(promoted.state.weights).toEqual({ '1.1.0': 100 });
    expect(promoted.state.versions['1.1.0']!.thresholds).toEqual(perClass);
  });

  it('on a fresh install registers every shipped version and deploys the newest', async () => {
    const { trained, untrained } = await shippedModelFiles();
    const bundled = join(root, 'bundled-fresh');
    await mkdir(bundled);
    await copyFile(untrained[0]!, join(bundled, 'fresh-1.0.0.onnx'));
    await copyFile(trained.at(-1)!, join(bundled, 'fresh-1.10.0.onnx'));
    await copyFile(trained[0]!, join(bundled, 'fresh-1.2.0.onnx'));
    await writeFile(join(bundled, 'fresh-1.10.0.metrics.json'), JSON.stringify({ splits: { test: { mAP50: 0.9 } } }));

    await deployBundledModel(runtime, models, 'fresh', bundled);
    const state = (await loadModel(runtime, 'fresh')).state;
    expect(Object.keys(state.versions).sort()).toEqual(['1.0.0', '1.10.0', '1.2.0']);
    expect(state.weights).toEqual({ '1.10.0': 100 });
    expect(state.versions['1.10.0']!.registration.metrics).toEqual({ 'test.mAP50': 0.9 });
  });

  it('registers a version that ships its own deployment file at its thresholds and tiling, the others at the shared ones', async () => {
    const { trained, untrained } = await shippedModelFiles();
    const bundled = join(root, 'bundled-own');
    await mkdir(bundled);
    await copyFile(untrained[0]!, join(bundled, 'own-1.0.0.onnx'));
    await copyFile(trained.at(-1)!, join(bundled, 'own-2.0.0.onnx'));
    const shared = { confidence: 0.25, iou: 0.45, maxDetections: 300, classConfidence: {} };
    const own = { confidence: 0.55, iou: 0.45, maxDetections: 300, classConfidence: { crack: 0.3 } };
    const tiling = { overlapPx: 64, mmPerInputPixel: null, maxLetterboxShrink: 1.5 };
    await writeFile(join(bundled, 'own.deployment.json'), JSON.stringify({ thresholds: shared }));
    await writeFile(join(bundled, 'own-2.0.0.deployment.json'), JSON.stringify({ thresholds: own, tiling }));

    await deployBundledModel(runtime, models, 'own', bundled);
    const state = (await loadModel(runtime, 'own')).state;
    expect(state.weights).toEqual({ '2.0.0': 100 });
    expect(state.versions['2.0.0']!.thresholds).toEqual(own);
    expect(state.versions['2.0.0']!.registration).toMatchObject({ thresholds: own, tiling });
    expect(state.versions['1.0.0']!.registration.thresholds).toEqual(shared);
    expect(state.versions['1.0.0']!.registration.tiling ?? null).toBeNull();
  });

  it('refuses an invalid deployment file with its path and the field at fault, and records nothing', async () => {
    const { untrained } = await shippedModelFiles();
    const bundled = join(root, 'bad-deployment');
    await mkdir(bundled);
    await copyFile(untrained[0]!, join(bundled, 'faulty-1.0.0.onnx'));
    const file = join(bundled, 'faulty.deployment.json');
    await writeFile(file, JSON.stringify({ thresholds: { confidence: 0.25, iou: 7, maxDetections: 300 } }));

    const failure = deployBundledModel(runtime, models, 'faulty', bundled);
    await expect(failure).rejects.toThrow(file);
    await expect(failure).rejects.toThrow(/thresholds\.iou/);
    expect((await loadModel(runtime, 'faulty')).version).toBe(0);

    await writeFile(file, '{ thresholds: ');
    await expect(deployBundledModel(runtime, models, 'faulty', bundled)).rejects.toThrow(`${file} is not JSON`);
  });

  it('refuses a deployment file with a per-class confidence for a class the model lacks, before recording any version', async () => {
    const { trained, untrained } = await shippedModelFiles();
    const bundled = join(root, 'unknown-class');
    await mkdir(bundled);
    await copyFile(untrained[0]!, join(bundled, 'typo-1.0.0.onnx'));
    await copyFile(trained.at(-1)!, join(bundled, 'typo-2.0.0.onnx'));
    const own = join(bundled, 'typo-2.0.0.deployment.json');
    const thresholds = { confidence: 0.25, iou: 0.45, maxDetections: 300, classConfidence: { slag: 0.3 } };
    await writeFile(own, JSON.stringify({ thresholds }));

    const failure = deployBundledModel(runtime, models, 'typo', bundled);
    await expect(failure).rejects.toThrow(own);
    await expect(failure).rejects.toThrow(/no class 'slag'/);
    // Not even the older version, whose (absent) deployment file was fine.
    expect((await loadModel(runtime, 'typo')).version).toBe(0);
  });

  it('records the sample acceptance profile once, labelled a sample, and leaves a retired one retired', async () => {
    await ensureSampleProfile(runtime);
    await ensureSampleProfile(runtime);
    const stream = `acceptance-profile-${SAMPLE_PROFILE.profileId}`;
    const events = await runtime.store.readStream(stream);
    expect(events.map((e) => e.type)).toEqual(['AcceptanceProfileCreated']);
    expect(events[0]!.data).toMatchObject({ sample: true, rules: SAMPLE_PROFILE.rules });
    await retireAcceptanceProfile(
      { store: runtime.store },
      { profileId: SAMPLE_PROFILE.profileId, reason: 'own profile' },
      { actor: 'qa' },
    );
    await ensureSampleProfile(runtime);
    expect((await runtime.store.readStream(stream)).map((e) => e.type)).toEqual([
      'AcceptanceProfileCreated',
      'AcceptanceProfileRetired',
    ]);
  });
});
