import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, type Runtime } from '../../cli/runtime.js';
import { isDependencyUnavailable } from '../../commands/ports/unavailable.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';

describe('the runtime pool', () => {
  let database: TestDatabase;
  let runtime: Runtime;

  beforeAll(async () => {
    database = await createTestDatabase('chitti_runtime');
    runtime = await openRuntime({
      name: 'runtime-test',
      allowEmbedded: false,
      env: { DATABASE_URL: database.url, LOG_LEVEL: 'silent' },
    });
  });
  afterAll(async () => {
    await runtime?.close();
    await database?.drop();
  });

  it('survives a connection that dies while checked out, and its next query fails as unavailable', async () => {
    const client = await runtime.pool.connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const pid = rows[0]!.pid;
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      // What a server shutdown does to every session, here to one held between two queries.
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      const deadline = Date.now() + 30_000;
      while ((await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount !== 0) {
        if (Date.now() > deadline) throw new Error('the backend did not end');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await admin.end();
    }
    const failure = await client.query('SELECT 1').then(
      () => undefined,
      (error: unknown) => error,
    );
    client.release(true);
    expect(isDependencyUnavailable(failure)).toBe(true);
    // The pool hands out a working connection again.
    expect((await runtime.pool.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
  });
});
