import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import type { RecordedEvent } from '../../schemas/events/index.js';
import { tagged } from '../conformance/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';

describe('live subscriptions are woken by LISTEN/NOTIFY', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let store: PostgresEventStore;
  const listenErrors: unknown[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('chitti_listen');
    pool = new pg.Pool({ connectionString: database.url, max: 4 });
    await migrate(pool);
    // A safety poll longer than any test: only notifications (or a reconnect) can wake a subscriber.
    store = new PostgresEventStore(pool, { safetyPollMs: 600_000, onListenError: (e) => listenErrors.push(e) });
  });
  afterAll(async () => {
    await store?.close();
    await pool?.end();
    await database?.drop();
  });

  const listenerPids = async () =>
    (
      await pool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'`,
      )
    ).rows.map((r) => r.pid);

  it('wakes on commit, and again after its LISTEN connection was killed', async () => {
    const seen: RecordedEvent[] = [];
    const subscription = store.subscribe({
      after: 0,
      handle: async (batch) => {
        seen.push(...batch);
      },
    });
    try {
      await subscription.caughtUpTo(0);
      const first = await store.append('file-live', [tagged(1)], { expectedVersion: 'no_stream' });
      await subscription.caughtUpTo(first.lastGlobalPosition);

      const [pid] = await listenerPids();
      expect(pid).toBeDefined();
      await pool.query('SELECT pg_terminate_backend($1)', [pid]);
      for (let i = 0; i < 300 && !(await listenerPids()).some((p) => p !== pid); i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect((await listenerPids()).filter((p) => p !== pid)).toHaveLength(1);
      expect(listenErrors.length).toBeGreaterThan(0);

      const second = await store.append('file-live', [tagged(2)], { expectedVersion: 1 });
      await subscription.caughtUpTo(second.lastGlobalPosition);
      expect(seen.map((e) => e.streamVersion)).toEqual([1, 2]);
    } finally {
      await subscription.stop();
    }
  });

  it('shares one read of the log among the subscriptions one commit wakes, and none misses a commit', async () => {
    const head = await store.headPosition();
    let reads = 0;
    const readAll = store.readAll.bind(store);
    store.readAll = (options) => {
      reads++;
      return readAll(options);
    };
    const seen = Array.from({ length: 5 }, () => [] as number[]);
    const subscriptions = seen.map((list) =>
      store.subscribe({
        after: head,
        handle: async (batch) => {
          list.push(...batch.map((e) => e.streamVersion));
        },
      }),
    );
    try {
      await Promise.all(subscriptions.map((s) => s.caughtUpTo(head)));
      reads = 0;
      for (let version = 1; version <= 3; version++) {
        const appended = await store.append('file-shared', [tagged(version)], {
          expectedVersion: version === 1 ? 'no_stream' : version - 1,
        });
        await Promise.all(subscriptions.map((s) => s.caughtUpTo(appended.lastGlobalPosition)));
      }
      for (const list of seen) expect(list).toEqual([1, 2, 3]);
      // One read per subscription per commit, and one more after each batch, would be 30.
      expect(reads).toBeLessThan(15);
    } finally {
      await Promise.all(subscriptions.map((s) => s.stop()));
      store.readAll = readAll;
    }
  });
});
