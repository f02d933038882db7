import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelsProjection, versionStatus } from '../../projections/read-models/models.js';
import { sha, THRESHOLDS } from './events.js';
import { createLogFixture, emit, type LogFixture, projectToHead, rowsOf } from './support.js';

let fx: LogFixture;
beforeAll(async () => {
  fx = await createLogFixture(4);
});
afterAll(async () => {
  await fx.close();
});

const registered = (version: string) => ({
  name: 'weld',
  version,
  sha256: sha(Number(version.replace(/\D/g, ''))),
  sizeBytes: 3_000_000,
  task: 'detect',
  format: 'onnx',
  outputLayout: 'yolo',
  classes: ['porosity', 'crack'],
  inputSize: { width: 640, height: 640 },
  metrics: { mAP50: 0.81 },
  description: `weld ${version}`,
  registeredBy: 'mia',
});

describe('models, versions and deployments', () => {
  it('derives a version status from weight and flags', () => {
    expect(versionStatus({ retired: false, weight: 10, shadow: false })).toBe('live');
    expect(versionStatus({ retired: false, weight: 0, shadow: true })).toBe('shadow');
    expect(versionStatus({ retired: false, weight: 0, shadow: false })).toBe('registered');
    expect(versionStatus({ retired: true, weight: 0, shadow: false })).toBe('retired');
  });

  it('tracks weights, canary, shadows, rollback and retirement', async () => {
    const s = 'model-weld';
    await emit(fx, s, 'ModelRegistered', registered('1.0.0'), 'mia');
    await emit(fx, s, 'ModelRegistered', registered('1.1.0'), 'mia');
    await emit(fx, s, 'ModelRegistered', registered('2.0.0'), 'mia');
    await emit(
      fx,
      s,
      'ModelDeployed',
      {
        name: 'weld',
        version: '1.0.0',
        weights: { '1.0.0': 100 },
        canary: false,
        thresholds: THRESHOLDS,
        deployedBy: 'mia',
      },
      'mia',
    );
    await emit(
      fx,
      s,
      'ModelDeployed',
      {
        name: 'weld',
        version: '1.1.0',
        weights: { '1.0.0': 95, '1.1.0': 5 },
        canary: true,
        thresholds: THRESHOLDS,
        deployedBy: 'mia',
      },
      'mia',
    );
    await emit(fx, s, 'ShadowDeployed', { name: 'weld', version: '2.0.0', deployedBy: 'mia' }, 'mia');
    await projectToHead(fx, [modelsProjection], { batchSize: 2 });

    let versions = await rowsOf(
      fx,
      'SELECT version, status, weight, canary, shadow FROM read.model_versions ORDER BY version',
    );
    expect(versions).toEqual([
      { version: '1.0.0', status: 'live', weight: 95, canary: false, shadow: false },
      { version: '1.1.0', status: 'live', weight: 5, canary: true, shadow: false },
      { version: '2.0.0', status: 'shadow', weight: 0, canary: false, shadow: true },
    ]);

    await emit(fx, s, 'ModelRolledBack', {
      name: 'weld',
      fromVersion: '1.1.0',
      toVersion: '1.0.0',
      weights: { '1.0.0': 100 },
      reason: 'false negatives',
      rolledBackBy: 'mia',
    });
    await emit(fx, s, 'ModelRetired', { name: 'weld', version: '1.1.0', reason: 'regressed', retiredBy: 'mia' });
    await emit(fx, s, 'ShadowStopped', { name: 'weld', version: '2.0.0', stoppedBy: 'mia' });
    await projectToHead(fx, [modelsProjection], { batchSize: 2 });

    versions = await rowsOf(
      fx,
      'SELECT version, status, weight, canary, shadow, retire_reason FROM read.model_versions ORDER BY version',
    );
    expect(versions).toEqual([
      { version: '1.0.0', status: 'live', weight: 100, canary: false, shadow: false, retire_reason: null },
      { version: '1.1.0', status: 'retired', weight: 0, canary: false, shadow: false, retire_reason: 'regressed' },
      { version: '2.0.0', status: 'registered', weight: 0, canary: false, shadow: false, retire_reason: null },
    ]);
    const [model] = await rowsOf(fx, 'SELECT * FROM read.models');
    expect(model).toMatchObject({ name: 'weld', weights: { '1.0.0': 100 }, shadow_versions: [], version_count: 3 });

    const history = await rowsOf(
      fx,
      'SELECT kind, version, from_version, canary, reason, actor FROM read.deployments ORDER BY position',
    );
    expect(history).toEqual([
      { kind: 'deployed', version: '1.0.0', from_version: null, canary: false, reason: null, actor: 'mia' },
      { kind: 'deployed', version: '1.1.0', from_version: null, canary: true, reason: null, actor: 'mia' },
      { kind: 'shadow-deployed', version: '2.0.0', from_version: null, canary: null, reason: null, actor: 'mia' },
      {
        kind: 'rolled-back',
        version: '1.0.0',
        from_version: '1.1.0',
        canary: null,
        reason: 'false negatives',
        actor: 'mia',
      },
      { kind: 'retired', version: '1.1.0', from_version: null, canary: null, reason: 'regressed', actor: 'mia' },
      { kind: 'shadow-stopped', version: '2.0.0', from_version: null, canary: null, reason: null, actor: 'mia' },
    ]);
  });
});
