import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgIdempotencyStore } from '../../api/stores/pg-idempotency-store.js';
import { migrateApiTables } from '../../api/stores/pg-schema.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';

describe('PgIdempotencyStore leases', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let store: PgIdempotencyStore;
  let longLeases: PgIdempotencyStore;

  beforeAll(async () => {
    database = await createTestDatabase('chitti_idem_lease');
    pool = new pg.Pool({ connectionString: database.url, max: 4 });
    await migrateApiTables(pool);
    store = new PgIdempotencyStore(pool, { leaseSeconds: 0.5 });
    longLeases = new PgIdempotencyStore(pool, { leaseSeconds: 60 });
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  const response = (id: string) => ({ status: 201, headers: { Location: `/v1/files/${id}` }, body: { id } });

  it('blocks a retry while the lease lives and says when to try again', async () => {
    expect(await longLeases.begin('carol POST /v1/files', 'k0', 'hash-0')).toMatchObject({ kind: 'started' });
    const blocked = await longLeases.begin('carol POST /v1/files', 'k0', 'hash-0');
    if (blocked.kind !== 'in-progress') throw new Error(`expected in-progress, got ${blocked.kind}`);
    expect(blocked.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(blocked.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(await longLeases.begin('carol POST /v1/files', 'k0', 'other-request')).toEqual({ kind: 'mismatch' });
  });

  it('lets one retry take the key over once the lease ran out, and ignores the old holder', async () => {
    const first = await store.begin('alice POST /v1/files', 'k1', 'hash-1');
    if (first.kind !== 'started') throw new Error(`expected started, got ${first.kind}`);

    // The holder stops renewing (its process died): after the lease a retry takes the key over.
    let takeover = await store.begin('alice POST /v1/files', 'k1', 'hash-1');
    const deadline = Date.now() + 30_000;
    while (takeover.kind !== 'started') {
      if (Date.now() > deadline) throw new Error('the lease never ran out');
      await new Promise((resolve) => setTimeout(resolve, 50));
      takeover = await store.begin('alice POST /v1/files', 'k1', 'hash-1');
    }
    expect(takeover.lease).not.toBe(first.lease);

    // The old holder, if it was only slow, can neither renew nor store its answer any more.
    expect(await store.renew('alice POST /v1/files', 'k1', first.lease)).toBe(false);
    await store.complete('alice POST /v1/files', 'k1', first.lease, response('old'));
    await store.abandon('alice POST /v1/files', 'k1', first.lease);
    expect(await store.renew('alice POST /v1/files', 'k1', takeover.lease)).toBe(true);
    await store.complete('alice POST /v1/files', 'k1', takeover.lease, response('new'));
    expect(await store.begin('alice POST /v1/files', 'k1', 'hash-1')).toEqual({
      kind: 'replay',
      response: response('new'),
    });
  });

  it('takes over a key left in progress by a version without leases', async () => {
    await pool.query(
      `INSERT INTO api.idempotent_requests (scope, key, request_hash) VALUES ('bob POST /v1/files', 'k2', 'hash-2')`,
    );
    expect(await store.begin('bob POST /v1/files', 'k2', 'hash-2')).toMatchObject({ kind: 'started' });
  });
});
