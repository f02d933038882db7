import { categoryOf, type RecordedEvent, type Role } from '../schemas/events/index.js';
import { can, type EventCategory, eventCategories, type FieldRule, type Permission, restrictedFields } from './rbac.js';

/**
 * What leaves the API: the one filter (event categories) and the one redaction (restricted fields)
 * that every way out applies, from the tables in `rbac.ts`. Routes never strip fields themselves.
 */

/** Who is reading. */
export interface Reader {
  readonly roles: readonly Role[];
  /** A raw export was asked for: secret fields stay when the roles also hold `audit:export-raw`. */
  readonly raw?: boolean;
}

const categoryByType = new Map<string, EventCategory>();
const categoryByStream = new Map<string, EventCategory>();
for (const [name, category] of Object.entries(eventCategories) as [
  EventCategory,
  (typeof eventCategories)[EventCategory],
][]) {
  for (const type of category.types) categoryByType.set(type, name);
  categoryByStream.set(category.stream, name);
}

const rulesBySubject = new Map<string, { path: readonly string[]; rule: FieldRule }[]>();
for (const field of restrictedFields) {
  const list = rulesBySubject.get(field.in) ?? [];
  list.push({ path: field.path.split('.'), rule: field.rule });
  rulesBySubject.set(field.in, list);
}

export const eventCategoryOf = (type: string): EventCategory | undefined => categoryByType.get(type);

/** An event type no category lists (one newer than this code) is shown to nobody. */
export function mayReadEventType(reader: Reader, type: string): boolean {
  const category = categoryByType.get(type);
  return category !== undefined && can(reader.roles, eventCategories[category].permission);
}

/** The permission that reads a stream's events (and so its folded state); undefined for an unknown category. */
export function streamPermission(streamId: string): Permission | undefined {
  const stream = categoryOf(streamId);
  const category = stream ? categoryByStream.get(stream) : undefined;
  return category ? eventCategories[category].permission : undefined;
}

export function mayReadStream(reader: Reader, streamId: string): boolean {
  const permission = streamPermission(streamId);
  return permission !== undefined && can(reader.roles, permission);
}

function allows(reader: Reader, rule: FieldRule): boolean {
  return rule === 'secret' ? reader.raw === true && can(reader.roles, 'audit:export-raw') : can(reader.roles, rule);
}

/**
 * Text derived from a whole payload (audit-trail and search summaries) cannot lose one field, so it
 * is shown only to a reader who may see every non-secret field of the event (summaries never carry
 * secrets: they are built without hash and secret keys).
 */
export function maySeeSummaryOf(reader: Reader, type: string): boolean {
  if (!mayReadEventType(reader, type)) return false;
  return (rulesBySubject.get(`event:${type}`) ?? []).every((f) => f.rule === 'secret' || allows(reader, f.rule));
}

function without(value: unknown, path: readonly string[], at: readonly string[], removed: string[]): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const [head, ...rest] = path;
  const record = value as Record<string, unknown>;
  const keys = head === '*' ? Object.keys(record) : head !== undefined && Object.hasOwn(record, head) ? [head] : [];
  if (keys.length === 0) return value;
  const copy: Record<string, unknown> = { ...record };
  for (const key of keys) {
    if (rest.length === 0) {
      delete copy[key];
      removed.push([...at, key].join('.'));
    } else {
      copy[key] = without(record[key], rest, [...at, key], removed);
    }
  }
  return copy;
}

/**
 * The redaction: a copy of `value` without the fields `subject` (`event:<type>`, `state:<stream
 * category>`, `row:<read model>`) keeps from this reader, and the paths it removed.
 */
export function redact<T>(subject: string, value: T, reader: Reader): { value: T; redacted: string[] } {
  const redacted: string[] = [];
  let out: unknown = value;
  for (const field of rulesBySubject.get(subject) ?? []) {
    if (!allows(reader, field.rule)) out = without(out, field.path, [], redacted);
  }
  return { value: out as T, redacted };
}

/** A stored event as exported and streamed: positions, content as stored, metadata and hash. */
export interface OutwardEvent {
  readonly globalPosition: number;
  readonly streamId: string;
  readonly streamVersion: number;
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly recordedAt: string;
  readonly hash: string;
  /** Paths (`data.secretSha256`) left out for this reader; the hash covers them, so it cannot be recomputed. */
  readonly redacted?: readonly string[];
}

/** The event as this reader may see it, or undefined when its category is not theirs to read. */
export function outwardEvent(reader: Reader, event: RecordedEvent): OutwardEvent | undefined {
  if (!mayReadEventType(reader, event.type)) return undefined;
  const { value: data, redacted } = redact(`event:${event.type}`, event.data, reader);
  return {
    globalPosition: event.globalPosition,
    streamId: event.streamId,
    streamVersion: event.streamVersion,
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data,
    metadata: event.metadata,
    recordedAt: event.recordedAt.toISOString(),
    hash: event.hash,
    ...(event.prevHash !== undefined ? { prevHash: event.prevHash } : {}),
    ...(event.hashVersion !== undefined ? { hashVersion: event.hashVersion } : {}),
    ...(redacted.length > 0 ? { redacted: redacted.map((path) => `data.${path}`) } : {}),
  };
}

/** A folded aggregate as this reader may see it (the caller has checked `mayReadStream`). */
export const outwardState = <T>(reader: Reader, streamId: string, state: T): T =>
  redact(`state:${categoryOf(streamId) ?? ''}`, state, reader).value;

/** A read-model row as this reader may see it. */
export const outwardRow = <T>(reader: Reader, readModel: string, row: T): T =>
  redact(`row:${readModel}`, row, reader).value;
