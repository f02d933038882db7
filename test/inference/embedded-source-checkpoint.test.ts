import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedInspectionSource } from '../../inference/embedded-source.js';
import type { InspectionRequest } from '../../inference/ports/request-source.js';
import { PostgresCheckpoint } from '../../infra/postgres/checkpoint.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { tagged } from '../conformance/fixtures.js';
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

async function runSource(checkpoint: PostgresCheckpoint, checkpointEveryMs?: number): Promise<string[]> {
  const seen: string[] = [];
  const source = new EmbeddedInspectionSource(store, {
    checkpoint,
    batchSize: 2,
    ...(checkpointEveryMs !== undefined ? { checkpointEveryMs } : {}),
  });
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

/** Releases a handler a test left blocked (when it failed), so the store can close. */
let releaseBlocked: (() => void) | undefined;

afterAll(async () => {
  releaseBlocked?.();
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

  it('saves after each batch with requests, and past batches without any only once per period', async () => {
    const checkpoint = new PostgresCheckpoint(pool, 'sparse');
    await store.append('inspection-s1', [request('s1')], { expectedVersion: 'no_stream' });
    const afterRequest = await store.headPosition();
    for (let i = 1; i <= 6; i++)
      await store.append('file-sparse', [tagged(i)], { expectedVersion: i - 1 || 'no_stream' });
    const hour = 3_600_000;
    expect(await runSource(checkpoint, hour)).toContain('s1');
    // The request's batch was saved; the tag-only batches after it were not (the period had not
    // passed since): they wait for the next request or the period.
    const saved = await checkpoint.load();
    expect(saved).toBeGreaterThanOrEqual(afterRequest);
    expect(saved).toBeLessThan(await store.headPosition());
    await store.append('inspection-s2', [request('s2')], { expectedVersion: 'no_stream' });
    expect(await runSource(checkpoint, hour)).toContain('s2');
    expect(await checkpoint.load()).toBe(await store.headPosition());
  });

  it('hands over a request while an earlier one is still being handled, and saves nothing past the earlier one', async () => {
    const checkpoint = new PostgresCheckpoint(pool, 'pipelined');
    await checkpoint.save(await store.headPosition());
    await store.append('inspection-slow', [request('slow')], { expectedVersion: 'no_stream' });
    const beforeSlow = (await store.headPosition()) - 1;
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    releaseBlocked = release;
    let fastSeen!: () => void;
    const fast = new Promise<void>((resolve) => {
      fastSeen = resolve;
    });
    const seen: string[] = [];
    const source = new EmbeddedInspectionSource(store, { checkpoint });
    await source.start(async (requests: readonly InspectionRequest[]) => {
      const ids = requests.map((r) => r.data.inspectionId);
      seen.push(...ids);
      if (ids.includes('slow')) await released;
      if (ids.includes('fast')) fastSeen();
      return requests.map((r) => ({ inspectionId: r.data.inspectionId, status: 'already-done' as const }));
    });
    try {
      await store.append('inspection-fast', [request('fast')], { expectedVersion: 'no_stream' });
      // Without pipelining 'fast' would only be read once 'slow' was done: this would never resolve.
      await fast;
      expect(seen).toEqual(['slow', 'fast']);
      expect(await checkpoint.load()).toBe(beforeSlow);
      release();
      await source.caughtUpTo(await store.headPosition());
      expect(await checkpoint.load()).toBe(await store.headPosition());
    } finally {
      release();
      await source.stop();
    }
  });

  it('hands a failing batch over again after a backoff while later requests go on', async () => {
    const checkpoint = new PostgresCheckpoint(pool, 'retried');
    await checkpoint.save(await store.headPosition());
    const errors: unknown[] = [];
    const seen: string[] = [];
    let failures = 0;
    const source = new EmbeddedInspectionSource(store, {
      checkpoint,
      maxBackoffMs: 20,
      onError: (error) => errors.push(error),
    });
    await source.start(async (requests: readonly InspectionRequest[]) => {
      const ids = requests.map((r) => r.data.inspectionId);
      seen.push(...ids);
      if (ids.includes('flaky') && failures++ < 2) throw new Error('database away');
      return requests.map((r) => ({ inspectionId: r.data.inspectionId, status: 'already-done' as const }));
    });
    try {
      await store.append('inspection-flaky', [request('flaky')], { expectedVersion: 'no_stream' });
      await store.append('inspection-after', [request('after')], { expectedVersion: 'no_stream' });
      await source.caughtUpTo(await store.headPosition());
      expect(seen.filter((id) => id === 'flaky')).toHaveLength(3);
      expect(seen).toContain('after');
      expect(errors).toHaveLength(2);
      expect(await checkpoint.load()).toBe(await store.headPosition());
    } finally {
      await source.stop();
    }
  });

  it('never moves a checkpoint backwards', async () => {
    const checkpoint = new PostgresCheckpoint(pool, 'monotonic');
    await checkpoint.save(10);
    await checkpoint.save(7);
    expect(await checkpoint.load()).toBe(10);
  });
});
