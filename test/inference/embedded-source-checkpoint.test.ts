import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedInspectionSource } from '../../inference/embedded-source.js';
import type { InspectionRequest } from '../../inference/ports/request-source.js';
import { PostgresCheckpoint } from '../../infra/postgres/checkpoint.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';

let db: TestDatabase;
let pool: pg.Pool;
let store: PostgresEventStore;

const request = (inspectionId: string) => ({
  type: 'InspectionRequested',
  data: {
    inspectionId,
    fileId: 'f1',
    fileSha256: 'b'.repeat(64),
    model: { name: 'weld-defects', version: '1.0.0', sha256: 'c'.repeat(64) },
    selection: { reason: 'only-version', roll: null, weights: { '1.0.0': 100 } },
    shadows: [],
    thresholds: { confidence: 0.25, iou: 0.7, maxDetections: 300 },
    requestedBy: 'op',
  },
  metadata: { actor: 'op' },
});

async function runSource(checkpoint: PostgresCheckpoint): Promise<string[]> {
  const seen: string[] = [];
  const source = new EmbeddedInspectionSource(store, { checkpoint, batchSize: 2 });
  await source.start(async (requests: readonly InspectionRequest[]) => {
    seen.push(...requests.map((r) => r.data.inspectionId));
    return requests.map((r) => ({ inspectionId: r.data.inspectionId, status: 'already-done' as const }));
  });
  await source.caughtUpTo(await store.headPosition());
  await source.stop();
  return seen;
}

beforeAll(async () => {
  db = await createTestDatabase('chitti_srcckpt');
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  await migrate(pool);
  store = new PostgresEventStore(pool, { safetyPollMs: 200 });
});

afterAll(async () => {
  await store.close();
  await pool.end();
  await db.drop();
});

describe('embedded inspection source with a checkpoint', () => {
  it('resumes after the last handled batch instead of re-reading the whole log', async () => {
    const checkpoint = new PostgresCheckpoint(pool, 'inference-embedded');
    for (const id of ['i1', 'i2', 'i3'])
      await store.append(`inspection-${id}`, [request(id)], { expectedVersion: 'no_stream' });
    expect(await runSource(checkpoint)).toEqual(['i1', 'i2', 'i3']);
    expect(await checkpoint.load()).toBe(await store.headPosition());

    await store.append('inspection-i4', [request('i4')], { expectedVersion: 'no_stream' });
    expect(await runSource(checkpoint)).toEqual(['i4']);
  });

  it('never moves a checkpoint backwards', async () => {
    const checkpoint = new PostgresCheckpoint(pool, 'monotonic');
    await checkpoint.save(10);
    await checkpoint.save(7);
    expect(await checkpoint.load()).toBe(10);
  });
});
