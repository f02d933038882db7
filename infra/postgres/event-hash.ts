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

/** v2 also covers where the event sits in the global log. */
export interface PositionedEventContent extends HashedEventContent {
  readonly globalPosition: number;
}

/** The hash rule a row was written with (`events.hash_version`). */
export type HashVersion = 1 | 2;
export const CURRENT_HASH_VERSION: HashVersion = 2;

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * chitti-event-v1 (rows written before migration 004): sha256 hex over the RFC 8785 canonical
 * JSON of an object with keys data, eventId, format, metadata, prevHash, recordedAt,
 * schemaVersion, streamId, streamVersion, type (sorted, as canonicalJson writes them; spelled
 * out here for speed).
 */
export function computeEventHashV1(content: HashedEventContent, prevHash: string | null): string {
  return sha256Hex(
    `{"data":${canonicalJson(content.data)}` +
      `,"eventId":${JSON.stringify(content.eventId.toLowerCase())}` +
      `,"format":"chitti-event-v1"` +
      `,"metadata":${canonicalJson(content.metadata)}` +
      `,"prevHash":${JSON.stringify(prevHash)}` +
      `,"recordedAt":${JSON.stringify(content.recordedAt.toISOString())}` +
      `,"schemaVersion":${JSON.stringify(content.schemaVersion)}` +
      `,"streamId":${JSON.stringify(content.streamId)}` +
      `,"streamVersion":${JSON.stringify(content.streamVersion)}` +
      `,"type":${JSON.stringify(content.type)}}`,
  );
}

/**
 * The chitti-event-v2 text without the three parts the append statement fills in under the log
 * head's lock: head + globalPosition + mid + prevHash (JSON) + `,"recordedAt":"<ISO ms Z>"` + tail
 * is the RFC 8785 canonical JSON of the object with keys data, eventId, format ("chitti-event-v2"),
 * globalPosition, metadata, prevHash, recordedAt, schemaVersion, streamId, streamVersion, type.
 * `chitti_event_hashes_v2` (migration 004) joins them in SQL; computeEventHashV2 does the same here.
 */
export function eventHashPartsV2(content: Omit<HashedEventContent, 'recordedAt'>): {
  head: string;
  mid: string;
  tail: string;
} {
  return {
    head:
      `{"data":${canonicalJson(content.data)}` +
      `,"eventId":${JSON.stringify(content.eventId.toLowerCase())}` +
      `,"format":"chitti-event-v2","globalPosition":`,
    mid: `,"metadata":${canonicalJson(content.metadata)},"prevHash":`,
    tail:
      `,"schemaVersion":${JSON.stringify(content.schemaVersion)}` +
      `,"streamId":${JSON.stringify(content.streamId)}` +
      `,"streamVersion":${JSON.stringify(content.streamVersion)}` +
      `,"type":${JSON.stringify(content.type)}}`,
  };
}

export function computeEventHashV2(content: PositionedEventContent, prevHash: string | null): string {
  const { head, mid, tail } = eventHashPartsV2(content);
  return sha256Hex(
    `${head}${content.globalPosition}${mid}${JSON.stringify(prevHash)}` +
      `,"recordedAt":${JSON.stringify(content.recordedAt.toISOString())}${tail}`,
  );
}

/** The hash of an event under the rule it was written with. */
export function computeEventHash(content: PositionedEventContent, prevHash: string | null, version: HashVersion) {
  return version === 1 ? computeEventHashV1(content, prevHash) : computeEventHashV2(content, prevHash);
}
