import { createHmac, timingSafeEqual } from 'node:crypto';
import type { WriterKey, WriterKeyRing } from '../sealing/writer-keys.js';
import { canonicalJson } from './canonical-json.js';
import type { HashedEventContent } from './event-hash.js';
import { contentOfRow, type EventContentColumns } from './event-rows.js';

/** What a writer MAC covers: the event as the appending process made it, before the log placed it. */
export type MacedEventContent = Omit<HashedEventContent, 'recordedAt'>;

/**
 * The bytes a writer MACs (chitti-writer-mac-v1): the RFC 8785 canonical JSON of an object with keys
 * data, eventId, format ("chitti-writer-mac-v1"), metadata, prevHash, schemaVersion, streamId,
 * streamVersion, type. `prevHash` is the stream head's hash the append read, for the first event of
 * an append; null for the later events of the same append (their previous hash is only computed
 * inside the append statement). Position and recorded time are not covered: they are assigned
 * under the log head's lock, after the MAC is made; the next event's prevHash binds them.
 */
export function writerMacMessage(content: MacedEventContent, prevHash: string | null): string {
  return (
    `{"data":${canonicalJson(content.data)}` +
    `,"eventId":${JSON.stringify(content.eventId.toLowerCase())}` +
    `,"format":"chitti-writer-mac-v1"` +
    `,"metadata":${canonicalJson(content.metadata)}` +
    `,"prevHash":${JSON.stringify(prevHash)}` +
    `,"schemaVersion":${JSON.stringify(content.schemaVersion)}` +
    `,"streamId":${JSON.stringify(content.streamId)}` +
    `,"streamVersion":${JSON.stringify(content.streamVersion)}` +
    `,"type":${JSON.stringify(content.type)}}`
  );
}

const macHex = (key: WriterKey, message: string) => createHmac('sha256', key.secret).update(message).digest('hex');

/** The value stored in `events.writer_mac`: `<keyId>:<hex HMAC-SHA256>`. */
export function computeWriterMac(key: WriterKey, content: MacedEventContent, prevHash: string | null): string {
  return `${key.keyId}:${macHex(key, writerMacMessage(content, prevHash))}`;
}

/**
 * The MAC in a commit notice: `<keyId>:<hex HMAC-SHA256 over "chitti-commit-notice-v1\n" + event id>`.
 * Made before the statement (the id is the writer's), it shows the notice names an event a writer-key
 * holder appended; the position and hash beside it are the statement's own.
 */
export function computeNoticeMac(key: WriterKey, eventId: string): string {
  return `${key.keyId}:${macHex(key, `chitti-commit-notice-v1\n${eventId.toLowerCase()}`)}`;
}

/** Whether a commit notice's MAC was made by a key of the ring for this event id. */
export function noticeMacValid(ring: WriterKeyRing, eventId: string, stored: string): boolean {
  const key = ring.byId.get(stored.slice(0, 16));
  if (!key || !/^[0-9a-f]{16}:[0-9a-f]{64}$/.test(stored)) return false;
  return timingSafeEqual(Buffer.from(stored), Buffer.from(computeNoticeMac(key, eventId)));
}

export type WriterMacCheck = 'valid' | 'missing' | 'unknown-key' | 'invalid';

/**
 * Checks a row's writer MAC with the ring: against the row's prevHash (the first event of an append),
 * else against null (a later event of the same append). Either way the content, stream and version
 * are what a key holder wrote.
 */
export function checkWriterMac(
  ring: WriterKeyRing,
  content: MacedEventContent,
  prevHash: string | null,
  stored: string | null,
): WriterMacCheck {
  if (stored === null) return 'missing';
  const match = /^([0-9a-f]{16}):([0-9a-f]{64})$/.exec(stored);
  if (!match) return 'invalid';
  const key = ring.byId.get(match[1]!);
  if (!key) return 'unknown-key';
  const given = Buffer.from(match[2]!, 'hex');
  const same = (candidate: string | null) =>
    timingSafeEqual(given, Buffer.from(macHex(key, writerMacMessage(content, candidate)), 'hex'));
  return same(prevHash) || (prevHash !== null && same(null)) ? 'valid' : 'invalid';
}

/** checkWriterMac on a raw row (its prev_hash and writer_mac columns). */
export function checkRowWriterMac(
  ring: WriterKeyRing,
  row: EventContentColumns & { prev_hash: string | null; writer_mac: string | null },
): WriterMacCheck {
  return checkWriterMac(ring, contentOfRow(row), row.prev_hash, row.writer_mac);
}

/** Why a writer-MAC check failed, in words for logs and reports. */
export function writerMacProblem(check: Exclude<WriterMacCheck, 'valid'>, stored: string | null): string {
  if (check === 'missing') return 'it carries no writer MAC, which every event after the cut-over has';
  if (check === 'unknown-key') return `its writer MAC names key ${stored?.slice(0, 16)}, which is not a writer key`;
  return 'its writer MAC does not verify: no process holding the writer key wrote it';
}
