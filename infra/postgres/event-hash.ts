import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

/** What an event's hash covers, besides the previous hash in its stream. */
export interface HashedEventContent {
  readonly streamId: string;
  readonly streamVersion: number;
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly recordedAt: Date;
}

const HASH_FORMAT = 'chitti-event-v1';

/** sha256 hex over the canonical serialisation of the content and the stream's previous hash. */
export function computeEventHash(content: HashedEventContent, prevHash: string | null): string {
  const text = canonicalJson({
    format: HASH_FORMAT,
    streamId: content.streamId,
    streamVersion: content.streamVersion,
    eventId: content.eventId.toLowerCase(),
    type: content.type,
    schemaVersion: content.schemaVersion,
    data: content.data,
    metadata: content.metadata,
    recordedAt: content.recordedAt.toISOString(),
    prevHash,
  });
  return createHash('sha256').update(text).digest('hex');
}
