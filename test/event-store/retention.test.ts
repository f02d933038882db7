import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgIdempotencyStore } from '../../api/stores/pg-idempotency-store.js';
import { migrateEverything } from '../../cli/migrations.js';
import { PostgresDedupeStore } from '../../infra/kafka/dedupe.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { pruneExpired } from '../../infra/postgres/retention.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';

let db: TestDatabase;
let pool: pg.Pool;
const window = { dedupeDays: 7, idempotencyHours: 24 };

beforeAll(async () => {
  db = await createTestDatabase('chitti_retention');
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  await migrateEverything(pool);
});

afterAll(async () => {
  await pool.end();
  await db.drop();
});

/** Moves a row's timestamp into the past, as if it had been written then. */
const age = (table: string, column: string, where: string, params: unknown[], interval: string) =>
  pool.query(`UPDATE ${table} SET ${column} = now() - interval '${interval}' WHERE ${where}`, params);

describe('retention of dedupe marks and idempotency keys', () => {
  it('keeps catching a redelivery inside the window and deletes the marks older than it', async () => {
    const dedupe = new PostgresDedupeStore(pool);
    let applied = 0;
    const effect = async () => {
      applied++;
    };
    for (const id of ['recent', 'old']) expect(await dedupe.runOnce('analytics', id, effect)).toBe('processed');
    await age('kafka_integration.processed_events', 'processed_at', 'event_id = $1', ['recent'], '6 days 23 hours');
    await age('kafka_integration.processed_events', 'processed_at', 'event_id = $1', ['old'], '7 days 1 hour');

    const pruned = await pruneExpired(pool, window);
    expect(pruned['kafka_integration.processed_events']).toBe(1);
    expect(await dedupe.runOnce('analytics', 'recent', effect)).toBe('duplicate');
    expect(await dedupe.isProcessed('analytics', 'old')).toBe(false);
    expect(applied).toBe(2);
  });

  it('replays a retried request inside the window; older keys and append results are deleted', async () => {
    const idempotency = new PgIdempotencyStore(pool, { retentionHours: window.idempotencyHours });
    for (const key of ['k-recent', 'k-old']) {
      const begun = await idempotency.begin('user-1', key, 'hash');
      expect(begun.kind).toBe('started');
      if (begun.kind !== 'started') throw new Error('not started');
      await idempotency.complete('user-1', key, begun.lease, { status: 201, headers: {}, body: { key } });
    }
    await age('api.idempotent_requests', 'created_at', 'key = $1', ['k-recent'], '23 hours');
    await age('api.idempotent_requests', 'created_at', 'key = $1', ['k-old'], '25 hours');
    const store = new PostgresEventStore(pool);
    for (const key of ['a-recent', 'a-old'])
      await store.append(
        `file-${key}`,
        [
          {
            type: 'FileDeleted',
            data: { fileId: key, sha256: 'a'.repeat(64), reason: 'test', deletedBy: 'op' },
            metadata: { actor: 'op' },
          },
        ],
        { expectedVersion: 'any', idempotencyKey: key },
      );
    await age('idempotency_keys', 'created_at', 'key LIKE $1', ['%a-old%'], '2 days');

    const pruned = await pruneExpired(pool, window);
    expect(pruned['api.idempotent_requests']).toBe(1);
    expect(pruned['public.idempotency_keys']).toBe(1);
    expect(await idempotency.begin('user-1', 'k-recent', 'hash')).toMatchObject({ kind: 'replay' });
    const { rows } = await pool.query('SELECT key FROM api.idempotent_requests ORDER BY key');
    expect(rows.map((r) => r.key)).toEqual(['k-recent']);
    const keys = await pool.query<{ key: string }>('SELECT key FROM idempotency_keys');
    expect(keys.rows.map((r) => r.key).join()).toMatch(/a-recent/);
    expect(keys.rows.map((r) => r.key).join()).not.toMatch(/a-old/);
    // Nothing older than the window is left: a second run deletes nothing.
    expect(Object.values(await pruneExpired(pool, window))).toEqual([0, 0, 0]);
    await store.close();
  });
});
