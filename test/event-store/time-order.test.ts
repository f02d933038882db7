import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { tagged } from '../conformance/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';

/**
 * Finding 8: `?asOf=<time>` must cut the log at a prefix. Recorded times are taken under the log
 * head's lock, so they never decrease along global positions, whatever the commit interleaving.
 */
describe('recorded time follows the global order', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let slow: pg.Pool;
  let stores: PostgresEventStore[];

  beforeAll(async () => {
    database = await createTestDatabase('chitti_time');
    pool = new pg.Pool({ connectionString: database.url, max: 12 });
    slow = new pg.Pool({ connectionString: database.url, max: 2 });
    await migrate(pool);
    stores = Array.from({ length: 6 }, () => new PostgresEventStore(pool));
  });
  afterAll(async () => {
    for (const store of stores ?? []) await store.close();
    await slow?.end();
    await pool?.end();
    await database?.drop();
  });

  it('concurrent writers: every time cut is a prefix of the log by position', async () => {
    let stop = false;
    // A writer that holds the head's lock across a pause, so the others queue behind it and their
    // own clocks run ahead of the time they get their positions: what broke asOf before.
    const blocker = (async () => {
      const store = new PostgresEventStore(slow);
      const client = await slow.connect();
      try {
        for (let round = 0; round < 8; round++) {
          await client.query('BEGIN');
          await client.query('UPDATE event_log_head SET position = position');
          await client.query('SELECT pg_sleep(0.05)');
          await client.query('COMMIT');
          await store.append(`file-blocker`, [tagged(round)], { expectedVersion: 'any' });
        }
      } finally {
        client.release();
        await store.close();
      }
    })();
    const writers = stores.map(async (store, w) => {
      for (let i = 0; i < 30 && !stop; i++) {
        const stream = `file-w${w}-${i % 3}`;
        const batch = i % 4 === 0 ? [tagged(i), tagged(i + 1)] : [tagged(i)];
        await store.append(stream, batch, { expectedVersion: 'any' });
      }
    });
    await Promise.all([blocker, ...writers]).finally(() => {
      stop = true;
    });

    const { rows } = await pool.query<{ position: string; at: string }>(
      `SELECT global_position AS position, to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS at
         FROM events ORDER BY global_position`,
    );
    expect(rows.length).toBe(8 + 6 * (30 + 8));
    const times = rows.map((r) => r.at);
    for (let i = 1; i < times.length; i++) expect(times[i]! >= times[i - 1]!, `position ${i + 1}`).toBe(true);

    // Every distinct time, and a microsecond before each: the asOf set is positions 1..k.
    const cuts = [...new Set(times)].flatMap((t) => [t, `${t.slice(0, -1)}0`]);
    for (const cut of cuts) {
      const { rows: set } = await pool.query<{ n: string; max: string | null }>(
        `SELECT count(*) AS n, max(global_position) AS max FROM events
          WHERE recorded_at <= ($1::timestamp AT TIME ZONE 'UTC')`,
        [cut],
      );
      expect(Number(set[0]!.max ?? 0), `cut ${cut}`).toBe(Number(set[0]!.n));
    }
  });

  it('the head row carries the newest recorded time, so a clock that steps back cannot reorder', async () => {
    const store = stores[0]!;
    const { rows } = await pool.query<{ at: Date }>('SELECT recorded_at AS at FROM event_log_head');
    // Pretend the newest event was recorded a minute ahead of the clock (as after a clock step back).
    await pool.query(`UPDATE event_log_head SET recorded_at = recorded_at + interval '1 minute'`);
    try {
      await store.append('file-late', [tagged(1)], { expectedVersion: 'any' });
      const late = await store.readStream('file-late');
      expect(late[0]!.recordedAt.getTime()).toBe(rows[0]!.at.getTime() + 60_000);
    } finally {
      await pool.query(`DELETE FROM events WHERE stream_id = 'file-late'`);
    }
  });
});
