import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Registry } from 'prom-client';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestInspection, uploadFile } from '../../commands/index.js';
import { EmbeddedInspectionSource } from '../../inference/embedded-source.js';
import { InferenceService } from '../../inference/service.js';
import { FsBlobStore } from '../../infra/blob/fs-blob-store.js';
import { LruPredictionCache } from '../../infra/memory-cache/lru-prediction-cache.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import type { EventData } from '../../schemas/events/index.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';
import { registerAndDeploy } from './support/deploy.js';
import { anyShippedModel } from './support/shipped.js';

const ctx = { actor: 'tester' };

describe('InferenceService (embedded, the shipped model layout)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let root: string;
  let service: InferenceService;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 6 });
    await migrate(pool);
    root = await mkdtemp(join(tmpdir(), 'chitti-service-'));
  });
  afterAll(async () => {
    await service?.stop();
    await pool?.end();
    await db?.drop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('goes from an uploaded 16-bit radiograph to DetectionsRecorded through the global log', async () => {
    const store = new PostgresEventStore(pool, { safetyPollMs: 200 });
    const blobs = new FsBlobStore(root);
    const registry = new Registry();
    service = new InferenceService(
      { store, blobs, cache: new LruPredictionCache(), registry },
      { detector: { maxBatch: 4, maxWaitMs: 2 }, processor: { worker: 'service-test' } },
    );
    const inspection = await service.models.register(await readFile(await anyShippedModel()));
    const version = await registerAndDeploy(store, inspection, 'weld-defects', ctx);

    const source = new EmbeddedInspectionSource(store);
    await service.start(source);

    const samples = Uint16Array.from({ length: 400 * 200 }, (_, i) => 20000 + ((i * 7919) % 20000));
    const image = await sharp(samples, { raw: { width: 400, height: 200, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toBuffer();
    const { sha256, sizeBytes } = await blobs.put(image);
    await uploadFile(
      { store },
      {
        fileId: 'radiograph-1',
        sha256,
        sizeBytes,
        mediaType: 'image/png',
        width: 400,
        height: 200,
        bitDepth: 16,
        channels: 1,
        originalName: 'seam 7.png',
      },
      ctx,
    );
    await requestInspection(
      { store },
      { inspectionId: 'insp-1', fileId: 'radiograph-1', modelName: 'weld-defects' },
      ctx,
    );
    await source.caughtUpTo(await store.headPosition());

    const events = await store.readStream('inspection-insp-1');
    expect(events.map((e) => e.type)).toEqual(['InspectionRequested', 'InferenceStarted', 'DetectionsRecorded']);
    const result = events[2]!.data as EventData<'DetectionsRecorded'>;
    expect(result).toMatchObject({
      role: 'live',
      model: { name: 'weld-defects', version, sha256: inspection.sha256 },
      image: { width: 400, height: 200 },
      cached: false,
    });
    expect(result.window).not.toBeNull();
    expect(result.window!.low).toBeGreaterThanOrEqual(20000);
    expect(result.window!.high).toBeLessThan(40000);
    for (const d of result.detections) {
      expect(inspection.classes).toContain(d.className);
      expect(d.box.x2).toBeLessThanOrEqual(400);
      expect(d.box.y2).toBeLessThanOrEqual(200);
    }
    expect(await registry.metrics()).toContain('chitti_inference_requests_total{status="recorded"} 1');
  });
});
