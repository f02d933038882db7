import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConcurrencyError } from '../../commands/ports/event-store.js';
import { verifyAudit } from '../../infra/postgres/audit-verify.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { tagged } from '../conformance/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';

/** Two store instances stand for two processes: each remembers stream heads the other moved. */
describe('two processes writing one stream', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let a: PostgresEventStore;
  let b: PostgresEventStore;

  beforeAll(async () => {
    database = await createTestDatabase('chitti_two');
    pool = new pg.Pool({ connectionString: database.url, max: 6 });
    await migrate(pool);
    a = new PostgresEventStore(pool);
    b = new PostgresEventStore(pool);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await pool?.end();
    await database?.drop();
  });

  it('a stale remembered head never breaks the version sequence or the hash chain', async () => {
    await a.append('file-x', [tagged(1)], { expectedVersion: 'no_stream' });
    await b.readStream('file-x');
    await b.append('file-x', [tagged(2)], { expectedVersion: 1 });
    await a.append('file-x', [tagged(3)], { expectedVersion: 'any' }); // a still remembers version 1
    await expect(b.append('file-x', [tagged(4)], { expectedVersion: 2 })).rejects.toMatchObject({
      constructor: ConcurrencyError,
      actual: 3,
    });
    const result = await b.append('file-x', [tagged(4)], { expectedVersion: 'stream_exists' });
    expect(result.nextExpectedVersion).toBe(4);
    expect((await a.readStream('file-x')).map((e) => e.streamVersion)).toEqual([1, 2, 3, 4]);
    expect(await verifyAudit(pool, { trustedKeys: new Map() })).toMatchObject({
      ok: true,
      eventsChecked: 4,
    });
  });

  it('an idempotent retry through the other process returns the first result', async () => {
    const first = await a.append('file-y', [tagged(1)], { expectedVersion: 'no_stream', idempotencyKey: 'cmd-y-1' });
    await b.readStream('file-y');
    const retry = await b.append('file-y', [tagged(1)], { expectedVersion: 'no_stream', idempotencyKey: 'cmd-y-1' });
    expect(retry).toEqual({ ...first, duplicate: true });
    // a remembers the head it wrote, so its own retry goes straight to the write and meets the key there.
    const again = await a.append('file-y', [tagged(1)], { expectedVersion: 'any', idempotencyKey: 'cmd-y-1' });
    expect(again).toEqual({ ...first, duplicate: true });
    expect(await a.readStream('file-y')).toHaveLength(1);
  });
});
