import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesProjection, inspectionsProjection } from '../../projections/read-models/index.js';
import { ProjectionRunner } from '../../projections/runner.js';
import { createLogFixture, type LogFixture, projectToHead, recordingLogger, rowsOf } from './support.js';

let fx: LogFixture;
beforeAll(async () => {
  fx = await createLogFixture(4);
});
afterAll(async () => {
  await fx.close();
});

/**
 * Writes a row the way an older (or broken) writer left it: the store refuses to write anything
 * but the current schema, so history from older versions can only be staged in SQL.
 */
async function storeRaw(streamId: string, type: string, schemaVersion: number, data: unknown): Promise<void> {
  await fx.pool.query(
    `WITH head AS (UPDATE event_log_head SET position = position + 1 RETURNING position)
     INSERT INTO events (global_position, stream_id, stream_version, event_id, type, schema_version, data, metadata, recorded_at, hash)
     SELECT head.position, $1, 1, $2, $3, $4, $5, '{"actor":"legacy"}', now(), repeat('0', 64) FROM head`,
    [streamId, randomUUID(), type, schemaVersion, JSON.stringify(data)],
  );
}

describe('events as stored, of any schema version', () => {
  it('reads a v1 InspectionRequested through its upcaster', async () => {
    await storeRaw('inspection-old1', 'InspectionRequested', 1, {
      inspectionId: 'old1',
      fileId: 'f-old',
      modelName: 'weld',
      modelVersion: '0.9.0',
      requestedBy: 'legacy-client',
    });
    await projectToHead(fx, [inspectionsProjection]);
    const [row] = await rowsOf(fx, `SELECT * FROM read.inspections WHERE inspection_id = 'old1'`);
    expect(row).toMatchObject({
      file_id: 'f-old',
      file_sha256: null,
      model_name: 'weld',
      model_version: '0.9.0',
      model_sha256: null,
      selection_reason: 'explicit',
      traffic_weights: { '0.9.0': 100 },
      thresholds: { confidence: 0.25, iou: 0.7, maxDetections: 300 },
      requested_by: 'legacy-client',
      status: 'requested',
    });
  });

  it('reads a v2 InspectionRequested (one confidence for every class) with an empty per-class map', async () => {
    const thresholds = { confidence: 0.3, iou: 0.45, maxDetections: 100 };
    await storeRaw('inspection-old3', 'InspectionRequested', 2, {
      inspectionId: 'old3',
      fileId: 'f-old',
      fileSha256: null,
      model: { name: 'weld', version: '2.0.0', sha256: null },
      selection: { reason: 'only-version', roll: null, weights: { '2.0.0': 100 } },
      shadows: [],
      thresholds,
      requestedBy: 'legacy-client',
    });
    await projectToHead(fx, [inspectionsProjection]);
    const [row] = await rowsOf(fx, `SELECT thresholds FROM read.inspections WHERE inspection_id = 'old3'`);
    expect(row!.thresholds).toEqual({ ...thresholds, classConfidence: {} });
  });

  it('stops the projection that meets an unreadable event, naming its position, and lets the others go on', async () => {
    await storeRaw('file-bad', 'FileUploaded', 1, { fileId: 'bad', sha256: 'not-a-hash' });
    const badPosition = Number((await rowsOf(fx, 'SELECT max(global_position) AS p FROM events'))[0]!.p);
    await storeRaw('inspection-old2', 'InspectionRequested', 1, {
      inspectionId: 'old2',
      fileId: 'f-old',
      modelName: 'weld',
      modelVersion: '0.9.0',
      requestedBy: 'legacy-client',
    });
    const logger = recordingLogger();
    const runner = new ProjectionRunner({
      pool: fx.pool,
      log: fx.store,
      projections: [filesProjection, inspectionsProjection],
      logger,
      retries: 5,
    });
    await runner.start();
    await expect.poll(() => runner.status().find((s) => s.name === 'files')!.state, { timeout: 10_000 }).toBe('failed');
    await expect
      .poll(() => runner.status().find((s) => s.name === 'inspections')!.checkpoint, { timeout: 10_000 })
      .toBe(await fx.store.headPosition());
    await runner.stop();
    const files = runner.status().find((s) => s.name === 'files')!;
    expect(files.error).toContain(`global position ${badPosition} (FileUploaded)`);
    expect(files.checkpoint).toBeLessThan(badPosition);
    // Unreadable data is permanent: no retries were spent on it.
    expect(logger.lines.filter((l) => l.level === 'warn')).toEqual([]);
    expect(await rowsOf(fx, `SELECT 1 FROM read.inspections WHERE inspection_id = 'old2'`)).toHaveLength(1);
  });
});
