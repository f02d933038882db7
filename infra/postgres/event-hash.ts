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

/**
 * sha256 hex over the canonical JSON of the content and the stream's previous hash: an object
 * with keys data, eventId, format, metadata, prevHash, recordedAt, schemaVersion, streamId,
 * streamVersion, type (sorted, as canonicalJson would write it; spelled out here for speed).
 */
export function computeEventHash(content: HashedEventContent, prevHash: string | null): string {
  const text =
    `{"data":${canonicalJson(content.data)}` +
    `,"eventId":${JSON.stringify(content.eventId.toLowerCase())}` +
    `,"format":"${HASH_FORMAT}"` +
    `,"metadata":${canonicalJson(content.metadata)}` +
    `,"prevHash":${JSON.stringify(prevHash)}` +
    `,"recordedAt":${JSON.stringify(content.recordedAt.toISOString())}` +
    `,"schemaVersion":${JSON.stringify(content.schemaVersion)}` +
    `,"streamId":${JSON.stringify(content.streamId)}` +
    `,"streamVersion":${JSON.stringify(content.streamVersion)}` +
    `,"type":${JSON.stringify(content.type)}}`;
  return createHash('sha256').update(text).digest('hex');
}
