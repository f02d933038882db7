import type pg from 'pg';
import type { AppendResult } from '../../commands/ports/event-store.js';
import type { WriterKey } from '../sealing/writer-keys.js';
import type { ValidEvent } from './append-input.js';
import { eventHashPartsV2 } from './event-hash.js';
import { computeNoticeMac, computeWriterMac } from './writer-mac.js';

/** What an append needs to know about its stream (and its idempotency key) before writing. */
export interface AppendState {
  /** 0 when the stream has no events. */
  readonly version: number;
  /** The hash of the stream's newest event: the next event's prevHash. */
  readonly lastHash: string | null;
  /** Set when the idempotency key was used before. */
  readonly keyStreamId: string | null;
  readonly keyResult: StoredResult | null;
}

/** What the idempotency key table keeps of an append: where its events went. */
export type StoredResult = Omit<AppendResult, 'duplicate' | 'events'>;

/** A successful write: its result and the stream head it left behind. */
export interface Written {
  readonly result: StoredResult;
  readonly head: { readonly version: number; readonly lastHash: string };
  readonly recordedAt: Date;
  /** Each written event's hash, in order. */
  readonly hashes: readonly string[];
}

interface StateRow {
  version: number | null;
  last_hash: string | null;
  key_stream_id: string | null;
  key_result: StoredResult | null;
}

const toState = (row: StateRow): AppendState => ({
  version: row.version ?? 0,
  lastHash: row.last_hash,
  keyStreamId: row.key_stream_id,
  keyResult: row.key_result,
});

/** Reads the stream head and the idempotency key without locking anything (one round trip). */
export async function readAppendState(db: pg.Pool | pg.PoolClient, streamId: string, key: string | null) {
  const { rows } = await db.query<StateRow>({
    name: 'chitti_append_state',
    text: `SELECT s.version, e.hash AS last_hash, k.stream_id AS key_stream_id, k.result AS key_result
             FROM (SELECT 1) AS one
             LEFT JOIN streams s ON s.stream_id = $1
             LEFT JOIN events e ON e.stream_id = s.stream_id AND e.stream_version = s.version
             LEFT JOIN idempotency_keys k ON k.key = $2`,
    values: [streamId, key],
  });
  return toState(rows[0]!);
}

/** Creates or locks the stream's head row for the rest of the transaction, then reads as readAppendState. */
export async function lockAppendState(client: pg.PoolClient, streamId: string, key: string | null) {
  const { rows } = await client.query<StateRow>({
    name: 'chitti_lock_stream',
    text: `INSERT INTO streams (stream_id, version) VALUES ($1, 0)
           ON CONFLICT (stream_id) DO UPDATE SET version = streams.version
           RETURNING version,
                     (SELECT hash FROM events WHERE stream_id = $1 AND stream_version = version) AS last_hash,
                     (SELECT stream_id FROM idempotency_keys WHERE key = $2) AS key_stream_id,
                     (SELECT result FROM idempotency_keys WHERE key = $2) AS key_result`,
    values: [streamId, key],
  });
  return toState(rows[0]!);
}

/**
 * The whole write as one statement: compare-and-set the stream head against the version that was
 * read, take positions and the recorded time from the log head row, hash the events, insert the
 * rows, record the idempotency key with its result, and notify (`<last position> <its event id>
 * <its hash> <notice MAC>`: a sealer in another process keeps these commit notices as its witness,
 * see AppendWitness). If the stream moved since it was read, nothing is written and no row comes back. Run outside a transaction it commits at once, so
 * the counter's row lock (the serialised section) is held for the statement and its commit only,
 * with no network round trip.
 *
 * Invariant: the head row's lock is the only way to positions, so positions are handed out in
 * commit order with no gap, and the recorded time, greatest(previous, clock_timestamp()) taken
 * after that lock is granted, never decreases along them. A time cut `recorded_at <= T` is thus a
 * prefix of the log, and the only events in it that were not yet committed at T are those of the
 * one append that held the lock at T. Position and time are known only here, so the hashes
 * (chitti-event-v2, which cover both) are computed here too, by chitti_event_hashes_v2 from the
 * canonical JSON pieces prepared before the lock. They are computed in the head row's RETURNING,
 * and the head is matched by its key: a separate CTE cross-joined with the head made the planner
 * expect millions of rows and JIT-compile every append (1.5 s each).
 *
 * Each row also gets its writer MAC (`writerKey`, docs/integrity.md), made here before the statement
 * over what the writer knows: content, stream, version and, for the first event, the head hash read.
 * It is one more array parameter: the statement, its lock and its commit stay as they were.
 */
export async function writeEvents(
  db: pg.Pool | pg.PoolClient,
  streamId: string,
  events: readonly ValidEvent[],
  state: AppendState,
  key: string | null,
  channel: string,
  writerKey?: WriterKey,
): Promise<Written | undefined> {
  const heads: string[] = [];
  const mids: string[] = [];
  const tails: string[] = [];
  const macs: (string | null)[] = [];
  const rowsJson = events.map((event, i) => {
    const streamVersion = state.version + i + 1;
    const content = { ...event, streamId, streamVersion };
    const parts = eventHashPartsV2(content);
    heads.push(parts.head);
    mids.push(parts.mid);
    tails.push(parts.tail);
    macs.push(writerKey ? computeWriterMac(writerKey, content, i === 0 ? state.lastHash : null) : null);
    return {
      stream_version: streamVersion,
      event_id: event.eventId,
      type: event.type,
      schema_version: event.schemaVersion,
      data: event.data,
      metadata: event.metadata,
    };
  });
  const nextExpectedVersion = state.version + events.length;
  const { rows } = await db.query<{ position: string; recorded_at: Date; hashes: string[] }>({
    name: 'chitti_write_events',
    text: `WITH stream AS (
             INSERT INTO streams AS s (stream_id, version) VALUES ($2, $4)
             ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version WHERE s.version = $5
             RETURNING 1
           ), head AS (
             UPDATE event_log_head
                SET position = position + $1,
                    recorded_at = greatest(recorded_at, date_trunc('milliseconds', clock_timestamp()))
              WHERE singleton = true AND EXISTS (SELECT 1 FROM stream)
             RETURNING position, recorded_at,
                       chitti_event_hashes_v2(position - $1 + 1, recorded_at, $8, $9::text[], $10::text[], $11::text[])
                         AS hashes
           ), inserted AS (
             INSERT INTO events (global_position, stream_id, stream_version, event_id, type, schema_version,
                                 data, metadata, recorded_at, hash, prev_hash, hash_version, writer_mac)
             SELECT head.position - $1 + e.ordinal, $2, e.stream_version, e.event_id, e.type, e.schema_version,
                    e.data, e.metadata, head.recorded_at, head.hashes[e.ordinal],
                    CASE WHEN e.ordinal = 1 THEN $12 ELSE head.hashes[e.ordinal - 1] END, 2,
                    ($13::text[])[e.ordinal]
             FROM head,
                  ROWS FROM (jsonb_to_recordset($3::jsonb) AS (stream_version int, event_id uuid, type text,
                    schema_version int, data jsonb, metadata jsonb)) WITH ORDINALITY
                  AS e(stream_version, event_id, type, schema_version, data, metadata, ordinal)
           ), claim AS (
             INSERT INTO idempotency_keys (key, stream_id, result)
             SELECT $6, $2, jsonb_build_object('nextExpectedVersion', $4::int,
                                                'firstGlobalPosition', head.position - $1 + 1,
                                                'lastGlobalPosition', head.position)
             FROM head WHERE $6::text IS NOT NULL
           )
           SELECT position, recorded_at, hashes,
                  pg_notify($7, position::text || ' ' || ($3::jsonb -> -1 ->> 'event_id')::uuid::text || ' '
                                || hashes[array_length(hashes, 1)] || ' ' || coalesce($14, '-'))
             FROM head`,
    values: [
      events.length,
      streamId,
      JSON.stringify(rowsJson),
      nextExpectedVersion,
      state.version,
      key,
      channel,
      JSON.stringify(state.lastHash),
      heads,
      mids,
      tails,
      state.lastHash,
      macs,
      writerKey ? computeNoticeMac(writerKey, events.at(-1)!.eventId) : null,
    ],
  });
  const row = rows[0];
  if (!row) return undefined;
  const lastGlobalPosition = Number(row.position);
  return {
    result: { nextExpectedVersion, firstGlobalPosition: lastGlobalPosition - events.length + 1, lastGlobalPosition },
    head: { version: nextExpectedVersion, lastHash: row.hashes.at(-1)! },
    recordedAt: row.recorded_at,
    hashes: row.hashes,
  };
}
