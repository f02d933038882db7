import { v7 as uuidv7 } from 'uuid';
import { DuplicateEventIdError, InvalidAppendError, MetadataTooLargeError } from '../../commands/ports/event-store.js';
import {
  currentVersionOf,
  EventMetadata,
  type ExpectedVersion,
  MAX_METADATA_BYTES,
  type NewEvent,
  validateEventData,
} from '../../schemas/events/index.js';

/** An event that passed every check that needs no database: ready to be positioned and hashed. */
export interface ValidEvent {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
  readonly metadata: EventMetadata;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const STREAM_ID = /^[^\u0000-\u001f\u007f]{1,300}$/;
const MAX_IDEMPOTENCY_KEY_LENGTH = 200;
const MAX_EVENTS_PER_APPEND = 10_000;

export function checkStreamId(streamId: string): void {
  if (typeof streamId !== 'string' || !STREAM_ID.test(streamId)) {
    throw new InvalidAppendError('stream id must be 1-300 characters without control characters');
  }
}

export function checkExpectedVersion(expected: ExpectedVersion): void {
  if (expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') return;
  if (!Number.isSafeInteger(expected) || expected < 0) {
    throw new InvalidAppendError(`expected version must be any, no_stream, stream_exists or an integer >= 0`);
  }
}

export function checkIdempotencyKey(key: string | undefined): void {
  if (key === undefined) return;
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new InvalidAppendError(`idempotency key must be 1-${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  }
}

/**
 * Validates payloads against their schema (typed errors from the registry), metadata against
 * `EventMetadata` and its size limit, and event ids (given ones must be unique uuids; missing
 * ones become uuid v7). Returns the normalised events to store.
 */
export function validateNewEvents(events: readonly NewEvent[]): ValidEvent[] {
  if (!Array.isArray(events) || events.length === 0) throw new InvalidAppendError('an append needs at least one event');
  if (events.length > MAX_EVENTS_PER_APPEND) {
    throw new InvalidAppendError(`an append holds at most ${MAX_EVENTS_PER_APPEND} events`);
  }
  const seen = new Set<string>();
  // The events of one command usually share one metadata object: check it once.
  const checkedMetadata = new Map<unknown, EventMetadata>();
  return events.map((event) => {
    const schemaVersion = event.schemaVersion ?? currentVersionOf(event.type);
    const data = validateEventData(event.type, schemaVersion, event.data);
    let metadata = checkedMetadata.get(event.metadata);
    if (!metadata) {
      metadata = validateMetadata(event.metadata);
      if (typeof event.metadata === 'object' && event.metadata !== null) checkedMetadata.set(event.metadata, metadata);
    }
    const eventId = event.eventId === undefined ? uuidv7() : event.eventId.toLowerCase();
    if (!UUID.test(eventId)) throw new InvalidAppendError(`event id '${event.eventId}' is not a uuid`);
    if (seen.has(eventId)) throw new DuplicateEventIdError(eventId);
    seen.add(eventId);
    return { eventId, type: event.type, schemaVersion, data, metadata };
  });
}

function validateMetadata(metadata: unknown): EventMetadata {
  const bytes = Buffer.byteLength(JSON.stringify(metadata ?? null) ?? '', 'utf8');
  if (bytes > MAX_METADATA_BYTES) throw new MetadataTooLargeError(bytes, MAX_METADATA_BYTES);
  const result = EventMetadata.safeParse(metadata);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new InvalidAppendError(`event metadata is invalid: ${issues}`);
  }
  return result.data;
}
