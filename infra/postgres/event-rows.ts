import type { EventMetadata, RecordedEvent } from '../../schemas/events/index.js';
import { computeEventHash, type HashVersion } from './event-hash.js';

/**
 * The columns every event read selects, in the shape `toRecordedEvent` expects. The recorded time
 * travels as epoch milliseconds (the store writes millisecond precision): parsing timestamptz text
 * costs more than everything else in a row.
 */
export const EVENT_COLUMNS = `global_position, stream_id, stream_version, event_id, type, schema_version, data, metadata,
  (extract(epoch FROM recorded_at) * 1000)::float8 AS recorded_at_ms, hash, prev_hash, hash_version`;

/** The same columns with `data` as its stored JSON text (`SubscribeOptions.dataAsText`). */
export const EVENT_COLUMNS_DATA_AS_TEXT = EVENT_COLUMNS.replace(
  'type, schema_version, data,',
  'type, schema_version, data::text AS data,',
);

export interface EventRow {
  global_position: string;
  stream_id: string;
  stream_version: number;
  event_id: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: EventMetadata;
  recorded_at_ms: number;
  hash: string;
  prev_hash: string | null;
  hash_version: number;
}

/** A row of the `events` table as `SELECT *` returns it (for audits and tests that read it raw). */
export interface EventTableRow {
  global_position: string;
  stream_id: string;
  stream_version: number;
  event_id: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: unknown;
  recorded_at: Date;
  hash: string;
  prev_hash: string | null;
  hash_version: number;
}

/** The columns that say what an event is, apart from where and when the log put it. */
export type EventContentColumns = Pick<
  EventTableRow,
  'stream_id' | 'stream_version' | 'event_id' | 'type' | 'schema_version' | 'data' | 'metadata'
>;

/** A raw row's content (what a writer MAC covers; a hash adds position and time). */
export function contentOfRow(row: EventContentColumns) {
  return {
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    eventId: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata,
  };
}

/** The hash a raw row's content should carry under its own hash version, chained to `prevHash`. */
export function hashEventRow(row: EventTableRow, prevHash: string | null): string {
  return computeEventHash(
    { ...contentOfRow(row), globalPosition: Number(row.global_position), recordedAt: row.recorded_at },
    prevHash,
    row.hash_version as HashVersion,
  );
}

export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    globalPosition: Number(row.global_position),
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    eventId: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata,
    recordedAt: new Date(row.recorded_at_ms),
    hash: row.hash,
    prevHash: row.prev_hash,
    hashVersion: row.hash_version,
  };
}
