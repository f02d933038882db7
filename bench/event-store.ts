/**
 * Event store benchmark: appends/s through PostgresEventStore beside a raw INSERT of the same rows
 * through pg (same run, same server, same indexes), and global-log read throughput.
 *
 *   node --import tsx bench/event-store.ts
 *
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) names the server; the
 * bench creates its own database there and drops it. BENCH_PHASE_MS bounds each timed phase.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { PostgresEventStore } from '../infra/postgres/event-store.js';
import { migrate } from '../infra/postgres/migrate.js';
import { computeWriterMac } from '../infra/postgres/writer-mac.js';
import { generateWriterKey, writerKeyRing } from '../infra/sealing/writer-keys.js';
import type { NewEvent } from '../schemas/events/index.js';
import { createBenchDatabase, runIfMain, SERVER_URL } from './support.js';

export interface AppendFigures {
  readonly writers: number;
  readonly singleEventPerSec: number;
  readonly singleEventRawPerSec: number;
  readonly batchEventsPerSec: number;
  readonly batchRawEventsPerSec: number;
  /** The raw INSERT that also takes its positions from one counter row held to commit: the no-skip floor. */
  readonly batchSerialisedRawEventsPerSec: number;
  /**
   * Single-event appends with `synchronous_commit = off` (not a mode Chitti offers: a crash could
   * lose acknowledged events): how much of the single-event floor is the WAL flush under the lock.
   */
  readonly singleEventAsyncCommitPerSec: number;
}

/** Appends with writer MACs (the store as every Chitti process runs it) beside the same store without a key. */
export interface WriterMacFigures {
  readonly writers: number;
  readonly singlePlainPerSec: number;
  readonly singleMacPerSec: number;
  readonly batchPlainEventsPerSec: number;
  readonly batchMacEventsPerSec: number;
}

export interface EventStoreBenchResult {
  readonly appends: readonly AppendFigures[];
  readonly writerMacs: readonly WriterMacFigures[];
  /** CPU time of one computeWriterMac over a bench event, microseconds. */
  readonly macMicros: number;
  readonly readEventsPerSec: number;
  readonly rawReadEventsPerSec: number;
  readonly eventsRead: number;
}

const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 3_000);
const WRITERS = 4;
const BATCH = 100;
const READ_TARGET = 100_000;
const READ_PAGE = 1_000;

const metadata = { actor: 'bench', correlationId: 'bench-correlation' };
const payload = (n: number) => ({ fileId: `f${n}`, added: ['weld', 'seam-7'], removed: [], taggedBy: 'bench' });
const newEvent = (n: number): NewEvent => ({ type: 'FileTagged', data: payload(n), metadata });

/** Runs `work` on `writers` concurrent loops until the phase ends; returns operations per second. */
async function timed(writers: number, work: (writer: number, i: number) => Promise<void>): Promise<number> {
  const deadline = performance.now() + PHASE_MS;
  const started = performance.now();
  let operations = 0;
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      for (let i = 0; performance.now() < deadline; i++) {
        await work(writer, i);
        operations++;
      }
    }),
  );
  return operations / ((performance.now() - started) / 1000);
}

/**
 * The baseline: the same rows, same table shape and indexes, one plain INSERT per transaction.
 * `serialised`: the same INSERT, but its positions come from one counter row updated in the same
 * statement and held until commit, which is what no-skip reading costs by itself (the store's
 * append does this too, plus hashing, the stream head and the idempotency record).
 */
function rawInserter(pool: pg.Pool, serialised = false) {
  let position = 0;
  const versions = new Map<string, number>();
  return async (streamId: string, count: number) => {
    const first = position + 1;
    position += count;
    const version = versions.get(streamId) ?? 0;
    versions.set(streamId, version + count);
    const rows = Array.from({ length: count }, (_, i) => i);
    await pool.query(
      serialised
        ? `WITH head AS (UPDATE raw_head SET position = position + $8 RETURNING position)
           INSERT INTO raw_events (global_position, stream_id, stream_version, event_id, type, schema_version, data,
                                   metadata, recorded_at, hash, prev_hash)
           SELECT head.position - $8 + e.ordinal, $2, e.stream_version, e.event_id, 'FileTagged', 1, e.data,
                  $6::jsonb, now(), e.hash, NULL
           FROM head, unnest($3::int[], $4::uuid[], $5::jsonb[], $7::text[])
                WITH ORDINALITY AS e(stream_version, event_id, data, hash, ordinal)
           WHERE $1::bigint IS NOT NULL`
        : `INSERT INTO raw_events (global_position, stream_id, stream_version, event_id, type, schema_version, data,
                               metadata, recorded_at, hash, prev_hash)
       SELECT $1::bigint + e.ordinal - 1, $2, e.stream_version, e.event_id, 'FileTagged', 1, e.data, $6::jsonb, now(),
              e.hash, NULL
       FROM unnest($3::int[], $4::uuid[], $5::jsonb[], $7::text[])
            WITH ORDINALITY AS e(stream_version, event_id, data, hash, ordinal)`,
      [
        first,
        streamId,
        rows.map((i) => version + i + 1),
        rows.map(() => randomUUID()),
        rows.map((i) => JSON.stringify(payload(first + i))),
        JSON.stringify(metadata),
        rows.map(() => randomBytes(32).toString('hex')),
        ...(serialised ? [count] : []),
      ],
    );
  };
}

export async function main(): Promise<EventStoreBenchResult> {
  const database = await createBenchDatabase('chitti_bench');
  const pool = new pg.Pool({ connectionString: database.url, max: WRITERS + 2 });
  const store = new PostgresEventStore(pool);
  const writerKeys = writerKeyRing([generateWriterKey()]);
  const macStore = new PostgresEventStore(pool, { writerKeys });
  const asyncPool = new pg.Pool({
    connectionString: database.url,
    max: WRITERS + 2,
    options: '-c synchronous_commit=off',
  });
  const asyncStore = new PostgresEventStore(asyncPool);
  try {
    await migrate(pool);
    await pool.query('CREATE TABLE raw_events (LIKE events INCLUDING ALL)');
    await pool.query('CREATE TABLE raw_head (position bigint NOT NULL)');
    await pool.query('INSERT INTO raw_head VALUES (1000000000)');
    const raw = rawInserter(pool);
    const rawSerialised = rawInserter(pool, true);

    // Warm up both paths (connections, prepared statements, JIT of the hot loops).
    for (let i = 0; i < 50; i++) {
      await store.append(`file-warm-${i % 4}`, [newEvent(i)], { expectedVersion: 'any' });
      await asyncStore.append(`file-warm-async-${i % 4}`, [newEvent(i)], { expectedVersion: 'any' });
      await raw(`file-warm-${i % 4}`, 1);
    }

    const versions = new Map<string, number>();
    const command = async (streamId: string, events: NewEvent[]) => {
      const result = await store.append(streamId, events, { expectedVersion: versions.get(streamId) ?? 'no_stream' });
      versions.set(streamId, result.nextExpectedVersion);
    };
    const batch = Array.from({ length: BATCH }, (_, i) => newEvent(i));
    const appends: AppendFigures[] = [];
    for (const writers of [1, WRITERS]) {
      const tag = `${writers}w`;
      const singleRaw = await timed(writers, (w, i) => raw(`file-raw1-${tag}-${w}-${i % 50}`, 1));
      const single = await timed(writers, (w, i) => command(`file-one-${tag}-${w}-${i % 50}`, [newEvent(i)]));
      const singleAsync = await timed(writers, async (w, i) => {
        await asyncStore.append(`file-async-${tag}-${w}-${i % 50}`, [newEvent(i)], { expectedVersion: 'any' });
      });
      const batchRaw = BATCH * (await timed(writers, (w, i) => raw(`file-rawb-${tag}-${w}-${i % 20}`, BATCH)));
      const batched = BATCH * (await timed(writers, (w, i) => command(`file-batch-${tag}-${w}-${i % 20}`, batch)));
      const batchSerialised =
        BATCH * (await timed(writers, (w, i) => rawSerialised(`file-raws-${tag}-${w}-${i % 20}`, BATCH)));
      appends.push({
        writers,
        singleEventPerSec: single,
        singleEventRawPerSec: singleRaw,
        batchEventsPerSec: batched,
        batchRawEventsPerSec: batchRaw,
        batchSerialisedRawEventsPerSec: batchSerialised,
        singleEventAsyncCommitPerSec: singleAsync,
      });
    }

    // Writer MACs: the same appends through a store with and without a writer key, alternated
    // (plain, MAC, plain, MAC) so that load drifting on a shared machine hits both alike.
    const writerMacs: WriterMacFigures[] = [];
    for (const writers of [1, WRITERS]) {
      const sums = { singlePlain: 0, singleMac: 0, batchPlain: 0, batchMac: 0 };
      for (let round = 0; round < 2; round++) {
        for (const [name, s] of [
          ['Plain', store],
          ['Mac', macStore],
        ] as const) {
          const tag = `${name}-${writers}w-${round}`;
          const append = (streamId: string, events: NewEvent[]) =>
            s.append(streamId, events, { expectedVersion: 'any' }).then(() => undefined);
          sums[`single${name}`] += await timed(writers, (w, i) =>
            append(`file-m1-${tag}-${w}-${i % 50}`, [newEvent(i)]),
          );
          sums[`batch${name}`] +=
            BATCH * (await timed(writers, (w, i) => append(`file-mb-${tag}-${w}-${i % 20}`, batch)));
        }
      }
      writerMacs.push({
        writers,
        singlePlainPerSec: sums.singlePlain / 2,
        singleMacPerSec: sums.singleMac / 2,
        batchPlainEventsPerSec: sums.batchPlain / 2,
        batchMacEventsPerSec: sums.batchMac / 2,
      });
    }
    const macContent = {
      ...newEvent(1),
      eventId: randomUUID(),
      schemaVersion: 1,
      streamId: 'file-x',
      streamVersion: 2,
    };
    const macRuns = 20_000;
    const macStarted = performance.now();
    for (let i = 0; i < macRuns; i++) computeWriterMac(writerKeys.current, macContent, 'a'.repeat(64));
    const macMicros = ((performance.now() - macStarted) * 1000) / macRuns;

    // Top the log up to READ_TARGET with appended batches so the read covers a realistic log.
    for (let head = await store.headPosition(), i = 0; head < READ_TARGET; i++) {
      head = (await store.append(`file-fill-${i % 100}`, batch, { expectedVersion: 'any' })).lastGlobalPosition;
    }
    const head = await store.headPosition();
    const readStarted = performance.now();
    let eventsRead = 0;
    for (let after = 0; after < head; ) {
      const page = await store.readAll({ after, maxCount: READ_PAGE });
      if (page.length === 0) break;
      eventsRead += page.length;
      after = page[page.length - 1]!.globalPosition;
    }
    const readEventsPerSec = eventsRead / ((performance.now() - readStarted) / 1000);
    // Baseline: the same pages through pg with every column left as text (no JSON or date parsing).
    const rawReadStarted = performance.now();
    let rawRead = 0;
    for (let after = 0; after < head; ) {
      const { rows } = await pool.query<{ global_position: string }>(
        `SELECT global_position::text, stream_id, stream_version::text, event_id::text, type, schema_version::text,
                data::text, metadata::text, recorded_at::text, hash
           FROM events WHERE events.global_position > $1 ORDER BY events.global_position LIMIT $2`,
        [after, READ_PAGE],
      );
      if (rows.length === 0) break;
      rawRead += rows.length;
      after = Number(rows[rows.length - 1]!.global_position);
    }
    const rawReadEventsPerSec = rawRead / ((performance.now() - rawReadStarted) / 1000);

    const result: EventStoreBenchResult = {
      appends,
      writerMacs,
      macMicros,
      readEventsPerSec,
      rawReadEventsPerSec,
      eventsRead,
    };
    const f = (n: number) => Math.round(n).toLocaleString('en-US');
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    console.log(`event store bench (${PHASE_MS} ms per phase, ${SERVER_URL.replace(/\/\/[^@]*@/, '//')})`);
    for (const a of appends) {
      console.log(
        `  ${a.writers} writer(s), single-event appends: ${f(a.singleEventPerSec)}/s   raw INSERT: ${f(a.singleEventRawPerSec)}/s   ratio ${ratio(a.singleEventPerSec, a.singleEventRawPerSec)}   with synchronous_commit off (not offered; the flush under the lock): ${f(a.singleEventAsyncCommitPerSec)}/s`,
      );
      console.log(
        `  ${a.writers} writer(s), ${BATCH}-event batches: ${f(a.batchEventsPerSec)} events/s   raw INSERT: ${f(a.batchRawEventsPerSec)} events/s   ratio ${ratio(a.batchEventsPerSec, a.batchRawEventsPerSec)} (goal >= 0.80)`,
      );
      console.log(
        `  ${a.writers} writer(s), ${BATCH}-event batches, raw INSERT through one counter row (the no-skip floor): ${f(a.batchSerialisedRawEventsPerSec)} events/s   floor/raw ${ratio(a.batchSerialisedRawEventsPerSec, a.batchRawEventsPerSec)}   ours/floor ${ratio(a.batchEventsPerSec, a.batchSerialisedRawEventsPerSec)}`,
      );
    }
    for (const m of writerMacs) {
      console.log(
        `  ${m.writers} writer(s), writer MACs: single ${f(m.singleMacPerSec)}/s vs ${f(m.singlePlainPerSec)}/s without (ratio ${ratio(m.singleMacPerSec, m.singlePlainPerSec)}); ${BATCH}-event batches ${f(m.batchMacEventsPerSec)} vs ${f(m.batchPlainEventsPerSec)} events/s (ratio ${ratio(m.batchMacEventsPerSec, m.batchPlainEventsPerSec)})`,
      );
    }
    console.log(
      `  computeWriterMac: ${macMicros.toFixed(2)} µs per event (CPU, in the writer, outside the append lock)`,
    );
    console.log(
      `  global-log read: ${f(readEventsPerSec)} events/s over ${f(eventsRead)} events, pages of ${READ_PAGE} (goal >= 100,000/s)   raw SELECT as text: ${f(rawReadEventsPerSec)}/s   ratio ${ratio(readEventsPerSec, rawReadEventsPerSec)}`,
    );
    return result;
  } finally {
    await store.close();
    await macStore.close();
    await asyncStore.close();
    await pool.end();
    await asyncPool.end();
    await database.drop();
  }
}

runIfMain(import.meta.url, main);
