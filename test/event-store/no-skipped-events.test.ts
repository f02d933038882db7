import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogSubscription } from '../../commands/ports/event-store.js';
import { ConcurrencyError } from '../../commands/ports/event-store.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import type { NewEvent, RecordedEvent } from '../../schemas/events/index.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';

/**
 * Test-only trigger: lets a test hold an append open *after* it took its global positions
 * (metadata.testGate waits on an advisory lock the test holds), slow it down (testSleepMs) or make
 * it fail and roll back (testFail). Production code is untouched; the trigger lives in this
 * suite's own database.
 */
const INJECTION_TRIGGER = `
  CREATE FUNCTION test_inject() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF NEW.metadata ? 'testGate' THEN PERFORM pg_advisory_xact_lock(hashtext(NEW.metadata->>'testGate')); END IF;
    IF NEW.metadata ? 'testSleepMs' THEN PERFORM pg_sleep((NEW.metadata->>'testSleepMs')::int / 1000.0); END IF;
    IF NEW.metadata ? 'testFail' THEN RAISE EXCEPTION 'injected failure after positions were taken'; END IF;
    RETURN NEW;
  END $$;
  CREATE TRIGGER test_inject BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION test_inject();
  CREATE TABLE naive_log (position bigserial PRIMARY KEY, label text NOT NULL);`;

function event(label: string, extra: Record<string, string | number> = {}): NewEvent {
  return {
    type: 'FileTagged',
    eventId: randomUUID(),
    data: { fileId: 'f1', added: [label], removed: [], taggedBy: 'writer' },
    metadata: { actor: 'writer', ...extra },
  };
}

describe('no reader ever skips an event', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let store: PostgresEventStore;

  beforeAll(async () => {
    database = await createTestDatabase('chitti_noskip');
    pool = new pg.Pool({ connectionString: database.url, max: 12 });
    await migrate(pool);
    await pool.query(INJECTION_TRIGGER);
    store = new PostgresEventStore(pool, { safetyPollMs: 1_000 });
  });
  afterAll(async () => {
    await store?.close();
    await pool?.end();
    await database?.drop();
  });

  /**
   * Polls pg_stat_activity (bounded) until a backend of this database waits on a lock of one of
   * `waitEvents`: 'advisory' = held at the test gate, 'transactionid'/'tuple' = queued on a row
   * lock held by another transaction (here: the log head counter).
   */
  async function waitForBackend(waitEvents: string[]): Promise<void> {
    for (let i = 0; i < 500; i++) {
      const { rows } = await pool.query(
        `SELECT 1 FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = ANY($1)
            AND query LIKE '%event_log_head%'`,
        [waitEvents],
      );
      if (rows.length > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no append waited on ${waitEvents.join('/')}`);
  }

  it('a naive bigserial reader loses the event of a transaction that commits late', async () => {
    const t1 = await pool.connect();
    const t2 = await pool.connect();
    try {
      await t1.query('BEGIN');
      const n = Number(
        (await t1.query(`INSERT INTO naive_log (label) VALUES ('T1') RETURNING position`)).rows[0].position,
      );
      await t2.query('BEGIN');
      const n1 = Number(
        (await t2.query(`INSERT INTO naive_log (label) VALUES ('T2') RETURNING position`)).rows[0].position,
      );
      expect(n1).toBe(n + 1);
      await t2.query('COMMIT');

      // The reader polls from its checkpoint, as a naive catch-up subscription would.
      const seen: string[] = [];
      let checkpoint = 0;
      const poll = async () => {
        const { rows } = await pool.query(
          'SELECT position, label FROM naive_log WHERE position > $1 ORDER BY position',
          [checkpoint],
        );
        for (const row of rows) {
          seen.push(row.label);
          checkpoint = Number(row.position);
        }
      };
      await poll();
      expect(checkpoint).toBe(n + 1);
      await t1.query('COMMIT');
      await poll();

      const committed = (await pool.query('SELECT label FROM naive_log ORDER BY position')).rows.map((r) => r.label);
      expect(committed).toEqual(['T1', 'T2']);
      expect(seen).toEqual(['T2']); // T1's event is lost for ever
    } finally {
      t1.release();
      t2.release();
    }
  });

  it('under the same interleaving our reader sees both events, in commit order', async () => {
    const before = await store.headPosition();
    const seen: RecordedEvent[] = [];
    const subscription = store.subscribe({
      after: before,
      handle: async (batch) => {
        seen.push(...batch);
      },
    });
    const gate = await pool.connect();
    try {
      await gate.query(`SELECT pg_advisory_lock(hashtext('gate-1'))`);
      // T1 takes its position and then stays open, held in the insert by the gate.
      const t1 = store.append('file-t1', [event('T1', { testGate: 'gate-1' })], { expectedVersion: 'any' });
      await waitForBackend(['advisory']);
      // T2 asks for the next position: it has to wait for T1 instead of overtaking it.
      const t2 = store.append('file-t2', [event('T2')], { expectedVersion: 'any' });
      await waitForBackend(['transactionid', 'tuple']);

      // The reader looks while both are in flight: nothing is visible, so it cannot move past T1.
      expect(await store.readAll({ after: before, maxCount: 10 })).toEqual([]);
      expect(await store.headPosition()).toBe(before);
      expect(seen).toEqual([]);

      await gate.query(`SELECT pg_advisory_unlock(hashtext('gate-1'))`);
      const [r1, r2] = await Promise.all([t1, t2]);
      expect(r1.firstGlobalPosition).toBe(before + 1);
      expect(r2.firstGlobalPosition).toBe(before + 2);

      await subscription.caughtUpTo(r2.lastGlobalPosition);
      expect(seen.map((e) => e.streamId)).toEqual(['file-t1', 'file-t2']);
    } finally {
      await gate.query('SELECT pg_advisory_unlock_all()');
      gate.release();
      await subscription.stop();
    }
  });

  it('concurrent writers (slow, failing, same and different streams): every subscriber sees every committed event exactly once, in one order', async () => {
    const start = await store.headPosition();
    const committedIds = new Set<string>();
    const rejectedIds = new Set<string>();
    const subscribers: { events: RecordedEvent[]; subscription: LogSubscription }[] = [];
    const subscribe = (batchSize: number) => {
      const events: RecordedEvent[] = [];
      const subscription = store.subscribe({
        after: start,
        batchSize,
        handle: async (batch) => {
          events.push(...batch);
        },
      });
      subscribers.push({ events, subscription });
    };
    for (const batchSize of [1, 7, 100]) subscribe(batchSize);

    const sharedStreams = ['file-shared-a', 'file-shared-b', 'file-shared-c'];
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };

    const writer = async (w: number) => {
      for (let i = 0; i < 25; i++) {
        const roll = random();
        const streamId = roll < 0.5 ? sharedStreams[i % sharedStreams.length]! : `file-w${w}-${i % 4}`;
        const extra: Record<string, number | string> =
          roll < 0.15 ? { testSleepMs: 5 + Math.floor(random() * 40) } : roll > 0.9 ? { testFail: 1 } : {};
        const events = Array.from({ length: 1 + (i % 3) }, (_, k) => event(`w${w}-${i}-${k}`, k === 0 ? extra : {}));
        const useExact = i % 5 === 0;
        try {
          const expectedVersion = useExact
            ? ((await store.readStream(streamId, { direction: 'backwards', maxCount: 1 }))[0]?.streamVersion ?? 0)
            : 'any';
          await store.append(streamId, events, { expectedVersion });
          for (const e of events) committedIds.add(e.eventId!);
        } catch (error) {
          const injected = error instanceof Error && error.message.includes('injected failure');
          if (!(error instanceof ConcurrencyError) && !injected) throw error;
          for (const e of events) rejectedIds.add(e.eventId!);
        }
        if (i === 10 && w === 0) subscribe(3); // a subscriber that joins mid-way and must catch up
      }
    };
    await Promise.all(Array.from({ length: 6 }, (_, w) => writer(w)));

    const head = await store.headPosition();
    const log: RecordedEvent[] = [];
    for (let after = start; ; ) {
      const batch = await store.readAll({ after, maxCount: 1000 });
      if (batch.length === 0) break;
      log.push(...batch);
      after = batch.at(-1)!.globalPosition;
    }
    try {
      await Promise.all(subscribers.map((s) => s.subscription.caughtUpTo(head)));
    } finally {
      await Promise.all(subscribers.map((s) => s.subscription.stop()));
    }

    expect(rejectedIds.size).toBeGreaterThan(0);
    expect(log.length).toBe(committedIds.size);
    expect(new Set(log.map((e) => e.eventId))).toEqual(committedIds);
    // Positions rolled back are handed out again, so the log has no holes at all.
    expect(log.map((e) => e.globalPosition)).toEqual(Array.from({ length: log.length }, (_, i) => start + i + 1));
    const order = log.map((e) => e.eventId);
    expect(subscribers).toHaveLength(4);
    for (const { events } of subscribers) {
      expect(events.map((e) => e.eventId)).toEqual(order);
      expect(events.some((e) => rejectedIds.has(e.eventId))).toBe(false);
    }
  });
});
