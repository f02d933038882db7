import type { z } from 'zod';
import { AcceptanceProfileCreated, AcceptanceProfileRetired, AcceptanceProfileRevised } from './acceptance.js';
import { AccessRecorded, SealKeyActivated } from './access.js';
import { type EventDefinition, publishedSchema } from './define.js';
import { FileDeleted, FileTagged, FileUploaded } from './file.js';
import {
  DetectionReviewed,
  DetectionsRecorded,
  InferenceStarted,
  InspectionClosed,
  InspectionEvaluated,
  InspectionFailed,
  InspectionRequested,
  ReportIssued,
  ShadowInferenceFailed,
} from './inspection.js';
import {
  ModelDeployed,
  ModelRegistered,
  ModelRetired,
  ModelRolledBack,
  ShadowDeployed,
  ShadowStopped,
  TrafficShifted,
} from './model.js';
import { ApiKeyIssued, ApiKeyRevoked, RoleGranted, RoleRevoked, UserRegistered } from './user.js';

export const eventDefinitions = {
  FileUploaded,
  FileTagged,
  FileDeleted,
  InspectionRequested,
  InferenceStarted,
  DetectionsRecorded,
  InspectionFailed,
  ShadowInferenceFailed,
  DetectionReviewed,
  InspectionClosed,
  InspectionEvaluated,
  ReportIssued,
  AcceptanceProfileCreated,
  AcceptanceProfileRevised,
  AcceptanceProfileRetired,
  ModelRegistered,
  ModelDeployed,
  TrafficShifted,
  ModelRolledBack,
  ShadowDeployed,
  ShadowStopped,
  ModelRetired,
  UserRegistered,
  RoleGranted,
  RoleRevoked,
  ApiKeyIssued,
  ApiKeyRevoked,
  AccessRecorded,
  SealKeyActivated,
} as const;

type Definitions = typeof eventDefinitions;
export type EventType = keyof Definitions;
export type EventData<T extends EventType> = z.infer<Definitions[T]['schema']>;
/** A domain event in its current schema version, discriminated by `type`. */
export type ChittiEvent = { [T in EventType]: { type: T; data: EventData<T> } }[EventType];
export type EventOfType<T extends EventType> = Extract<ChittiEvent, { type: T }>;

export class UnknownEventTypeError extends Error {
  readonly code = 'unknown-event-type';
  constructor(readonly eventType: string) {
    super(`unknown event type '${eventType}'`);
  }
}

export class InvalidEventPayloadError extends Error {
  readonly code = 'invalid-event-payload';
  constructor(
    readonly eventType: string,
    readonly schemaVersion: number,
    readonly issues: readonly { path: string; message: string }[],
  ) {
    super(
      `${eventType} v${schemaVersion} payload is invalid: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
}

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(eventDefinitions, type);
}

export function definitionOf(type: string): EventDefinition {
  if (!isEventType(type)) throw new UnknownEventTypeError(type);
  return eventDefinitions[type];
}

export function currentVersionOf(type: string): number {
  return definitionOf(type).version;
}

/** Validates a payload about to be written; returns the parsed (normalised) payload. */
export function validateEventData(type: string, schemaVersion: number, data: unknown): unknown {
  const definition = definitionOf(type);
  if (schemaVersion !== definition.version) {
    throw new InvalidEventPayloadError(type, schemaVersion, [
      { path: '', message: `only v${definition.version} may be written` },
    ]);
  }
  const result = definition.schema.safeParse(data);
  if (!result.success) {
    throw new InvalidEventPayloadError(
      type,
      schemaVersion,
      result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  return result.data;
}

/** Lifts a stored payload of any past version to the current shape; old rows are never rewritten. */
export function upcast(
  type: string,
  schemaVersion: number,
  data: unknown,
  options: { readonly published?: boolean } = {},
): ChittiEvent {
  const definition = definitionOf(type);
  if (!Number.isInteger(schemaVersion) || schemaVersion < 1 || schemaVersion > definition.version) {
    throw new InvalidEventPayloadError(type, schemaVersion, [
      { path: '', message: `this reader knows v1..v${definition.version}` },
    ]);
  }
  let payload = data as Record<string, unknown>;
  for (let v = schemaVersion; v < definition.version; v++) {
    const lift = definition.upcasters[v];
    if (!lift) throw new InvalidEventPayloadError(type, v, [{ path: '', message: `no upcaster from v${v}` }]);
    payload = lift(payload);
  }
  // A topic message is held to the published schema (no unpublished fields); the log to the whole one.
  const schema = options.published ? publishedSchema(definition) : definition.schema;
  return { type, data: schema.parse(payload) } as ChittiEvent;
}

/**
 * A payload read back from the event store: the store validated it on append, so one already in
 * the current version is taken as it is (parsing every event again on every replay would double
 * the read side's CPU cost); older versions are upcast and validated. Never use it for input
 * from outside the store (Kafka messages, HTTP bodies): that is what `upcast` is for.
 */
export function decodeStored(event: { type: string; schemaVersion: number; data: unknown }): ChittiEvent {
  const definition = definitionOf(event.type);
  if (event.schemaVersion === definition.version) return { type: event.type, data: event.data } as ChittiEvent;
  return upcast(event.type, event.schemaVersion, event.data);
}
