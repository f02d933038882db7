import type pg from 'pg';
import type { AppendResult } from '../../commands/ports/event-store.js';
import type { ValidEvent } from './append-input.js';
import { computeEventHash } from './event-hash.js';

/** What an append needs to know about its stream (and its idempotency key) before writing. */
export interface AppendState {
  /** 0 when the stream has no events. */
  readonly version: number;
  readonly lastHash: string | null;
  readonly lastRecordedAt: Date | null;
  /** Set when the idempotency key was used before. */
  readonly keyStreamId: string | null;
  readonly keyResult: StoredResult | null;
}

export type StoredResult = Omit<AppendResult, 'duplicate'>;

/** A successful write: its result and the stream head it left behind. */
export interface Written {
  readonly result: StoredResult;
  readonly head: { readonly version: number; readonly lastHash: string; readonly lastRecordedAt: Date };
}

interface StateRow {
  version: number | null;
  last_hash: string | null;
  last_recorded_at: Date | null;
  key_stream_id: string | null;
  key_result: StoredResult | null;
}

const toState = (row: StateRow): AppendState => ({
  version: row.version ?? 0,
  lastHash: row.last_hash,
  lastRecordedAt: row.last_recorded_at,
  keyStreamId: row.key_stream_id,
  keyResult: row.key_result,
});

/** Reads the stream head and the idempotency key without locking anything (one round trip). */
export async function readAppendState(db: pg.Pool | pg.PoolClient, streamId: string, key: string | null) {
  const { rows } = await db.query<StateRow>({
    name: 'chitti_append_state',
    text: `SELECT s.version, s.last_hash, s.last_recorded_at,
                  k.stream_id AS key_stream_id, k.result AS key_result
             FROM (SELECT 1) AS one
             LEFT JOIN streams s ON s.stream_id = $1
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
           RETURNING version, last_hash, last_recorded_at,
                     (SELECT stream_id FROM idempotency_keys WHERE key = $2) AS key_stream_id,
                     (SELECT result FROM idempotency_keys WHERE key = $2) AS key_result`,
    values: [streamId, key],
  });
  return toState(rows[0]!);
}

/**
 * The whole write as one statement: compare-and-set the stream head against the version that was
 * read, take positions from the log head counter, insert the rows, record the idempotency key with
 * its result, and notify. If the stream moved since it was read, nothing is written and no row
 * comes back. Run outside a transaction it commits at once, so the counter's row lock (the
 * serialised section) is held for the statement and its commit only, with no network round trip.
 */
export async function writeEvents(
  db: pg.Pool | pg.PoolClient,
  streamId: string,
  events: readonly ValidEvent[],
  state: AppendState,
  key: string | null,
  channel: string,
): Promise<Written | undefined> {
  // The writer's clock, but never behind the stream's last event, so `asOf` always selects a prefix.
  const now = new Date();
  const recordedAt = state.lastRecordedAt && state.lastRecordedAt > now ? state.lastRecordedAt : now;
  const versions: number[] = [];
  const hashes: string[] = [];
  const prevHashes: (string | null)[] = [];
  let prevHash = state.lastHash;
  events.forEach((event, i) => {
    const streamVersion = state.version + i + 1;
    const hash = computeEventHash({ ...event, streamId, streamVersion, recordedAt }, prevHash);
    versions.push(streamVersion);
    prevHashes.push(prevHash);
    hashes.push(hash);
    prevHash = hash;
  });
  const nextExpectedVersion = state.version + events.length;
  const { rows } = await db.query<{ position: string }>({
    name: 'chitti_write_events',
    text: `WITH stream AS (
             INSERT INTO streams AS s (stream_id, version, last_hash, last_recorded_at) VALUES ($2, $5, $6, $3)
             ON CONFLICT (stream_id) DO UPDATE
               SET version = EXCLUDED.version, last_hash = EXCLUDED.last_hash, last_recorded_at = EXCLUDED.last_recorded_at
               WHERE s.version = $7 AND s.last_hash IS NOT DISTINCT FROM $10
             RETURNING 1
           ), head AS (
             UPDATE event_log_head SET position = position + $1 WHERE EXISTS (SELECT 1 FROM stream)
             RETURNING position
           ), inserted AS (
             INSERT INTO events (global_position, stream_id, stream_version, event_id, type, schema_version,
                                 data, metadata, recorded_at, hash, prev_hash)
             SELECT head.position - $1 + e.ordinal, $2, e.stream_version, e.event_id, e.type, e.schema_version,
                    e.data, e.metadata, $3, e.hash, e.prev_hash
             FROM head,
                  ROWS FROM (jsonb_to_recordset($4::jsonb) AS (stream_version int, event_id uuid, type text,
                    schema_version int, data jsonb, metadata jsonb, hash text, prev_hash text)) WITH ORDINALITY
                  AS e(stream_version, event_id, type, schema_version, data, metadata, hash, prev_hash, ordinal)
           ), claim AS (
             INSERT INTO idempotency_keys (key, stream_id, result)
             SELECT $8, $2, jsonb_build_object('nextExpectedVersion', $5::int,
                                                'firstGlobalPosition', head.position - $1 + 1,
                                                'lastGlobalPosition', head.position)
             FROM head WHERE $8::text IS NOT NULL
           )
           SELECT position, pg_notify($9, position::text) FROM head`,
    values: [
      events.length,
      streamId,
      recordedAt,
      JSON.stringify(
        events.map((e, i) => ({
          stream_version: versions[i],
          event_id: e.eventId,
          type: e.type,
          schema_version: e.schemaVersion,
          data: e.data,
          metadata: e.metadata,
          hash: hashes[i],
          prev_hash: prevHashes[i],
        })),
      ),
      nextExpectedVersion,
      prevHash,
      state.version,
      key,
      channel,
      state.lastHash,
    ],
  });
  const row = rows[0];
  if (!row) return undefined;
  const lastGlobalPosition = Number(row.position);
  return {
    result: { nextExpectedVersion, firstGlobalPosition: lastGlobalPosition - events.length + 1, lastGlobalPosition },
    head: { version: nextExpectedVersion, lastHash: prevHash!, lastRecordedAt: recordedAt },
  };
}
