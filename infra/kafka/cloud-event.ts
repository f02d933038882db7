import type { IHeaders } from 'kafkajs';
import {
  type ChittiEvent,
  decodeStored,
  definitionOf,
  publishedData,
  type RecordedEvent,
  upcast,
} from '../../schemas/events/index.js';
import {
  CloudEventEnvelope,
  cloudEventType,
  dataSchemaUri,
  parseCloudEventType,
  topicOfStream,
} from '../../schemas/topics/index.js';

export type CloudEvent = CloudEventEnvelope;

/** CloudEvents Kafka binding, structured mode: the whole event is the JSON value. */
export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json; charset=UTF-8';
export const DEFAULT_SOURCE = '/chitti';

/**
 * A stored payload given as its JSON text (read with `dataAsText`) that a topic carries as it is:
 * current version (validated by the store on append) and no unpublished fields. Anything else is
 * parsed, upcast and stripped.
 */
function verbatimText(event: RecordedEvent): string | undefined {
  if (typeof event.data !== 'string') return undefined;
  const definition = definitionOf(event.type);
  return event.schemaVersion === definition.version && definition.unpublished.length === 0 ? event.data : undefined;
}

const parsedData = (event: RecordedEvent): RecordedEvent =>
  typeof event.data === 'string' ? { ...event, data: JSON.parse(event.data) } : event;

/** The envelope of a stored event, its payload upcast to the current schema version. */
export function toCloudEvent(event: RecordedEvent, source = DEFAULT_SOURCE): CloudEvent {
  return envelopeOf(parsedData(event), source, undefined);
}

function envelopeOf(event: RecordedEvent, source: string, data: unknown): CloudEvent {
  const definition = definitionOf(event.type);
  // A payload already in the current version was validated by the store on append: re-parsing it
  // would be the relay's main CPU cost. Older versions go through their upcasters (and the parse).
  // Secret material (an API key's hash) stays in the log: topics never carry unpublished fields.
  const { actor, traceparent, correlationId, causationId } = event.metadata;
  const envelope: CloudEvent = {
    specversion: '1.0',
    id: event.eventId,
    source,
    type: cloudEventType(event.type, definition.version),
    subject: event.streamId,
    time: event.recordedAt.toISOString(),
    datacontenttype: 'application/json',
    dataschema: dataSchemaUri(definition.type, definition.version),
    data: data === undefined ? publishedData(definition, decodeStored(event).data) : data,
    streamid: event.streamId,
    streamversion: event.streamVersion,
    globalposition: String(event.globalPosition),
    actor,
  };
  if (traceparent) envelope.traceparent = traceparent;
  if (correlationId) envelope.correlationid = correlationId;
  if (causationId) envelope.causationid = causationId;
  return envelope;
}

export interface OutgoingMessage {
  readonly topic: string;
  readonly key: string;
  readonly value: string;
  readonly headers: IHeaders;
}

/** Kafka message of a stored event: keyed by stream id so each aggregate keeps its order. */
export function toKafkaMessage(
  event: RecordedEvent,
  options: { topicPrefix: string; source: string },
): OutgoingMessage {
  const text = verbatimText(event);
  const headers: IHeaders = { 'content-type': STRUCTURED_CONTENT_TYPE };
  let value: string;
  if (text === undefined) {
    const envelope = toCloudEvent(event, options.source);
    if (envelope.traceparent) headers.traceparent = envelope.traceparent;
    value = JSON.stringify(envelope);
  } else {
    // The payload text goes in as read: encoded once, never parsed and re-serialised on the way out.
    value = verbatimEnvelope(event, options.source, text);
    // W3C trace context travels as a header too, so tracing works without parsing the value.
    if (event.metadata.traceparent) headers.traceparent = event.metadata.traceparent;
  }
  return { topic: topicOfStream(event.streamId, options.topicPrefix), key: event.streamId, value, headers };
}

const quote = JSON.stringify;
/** Per event type: the envelope's constant middle, from `"type"` up to `"subject":`. */
const typeParts = new Map<string, { type: string; schema: string }>();

/**
 * The JSON text `JSON.stringify(envelope)` gives for a current-version payload (same members, same
 * order, same escaping), written directly around the stored payload text: no envelope object, no
 * search-and-replace over the finished string. The relay's largest cost of its own per event.
 */
function verbatimEnvelope(event: RecordedEvent, source: string, data: string): string {
  let parts = typeParts.get(event.type);
  if (!parts) {
    const definition = definitionOf(event.type);
    parts = {
      type: quote(cloudEventType(event.type, definition.version)),
      schema: quote(dataSchemaUri(definition.type, definition.version)),
    };
    typeParts.set(event.type, parts);
  }
  const { actor, traceparent, correlationId, causationId } = event.metadata;
  const subject = quote(event.streamId);
  let json = `{"specversion":"1.0","id":${quote(event.eventId)},"source":${quote(source)},"type":${parts.type},"subject":${subject},"time":"${event.recordedAt.toISOString()}","datacontenttype":"application/json","dataschema":${parts.schema},"data":${data},"streamid":${subject},"streamversion":${quote(event.streamVersion)},"globalposition":"${event.globalPosition}"`;
  if (actor !== undefined) json += `,"actor":${quote(actor)}`;
  if (traceparent) json += `,"traceparent":${quote(traceparent)}`;
  if (correlationId) json += `,"correlationid":${quote(correlationId)}`;
  if (causationId) json += `,"causationid":${quote(causationId)}`;
  return `${json}}`;
}

/** A message that can never be handled: retrying cannot help, it goes straight to dead letter. */
export class PoisonMessageError extends Error {
  override readonly name = 'PoisonMessageError';
  readonly code = 'poison-message';
}

/** The domain event carried by an envelope: `{ type, data }` in the current schema version. */
export function domainEventOf(envelope: CloudEvent): ChittiEvent {
  const parsed = parseCloudEventType(envelope.type);
  if (!parsed) throw new PoisonMessageError(`type '${envelope.type}' is not a Chitti event type`);
  return upcast(parsed.eventType, parsed.version, envelope.data);
}

/**
 * Parses a message value into an envelope whose data is valid for (and upcast to) the current
 * version of its event type. Anything else is a PoisonMessageError naming what is wrong.
 */
export function decodeCloudEvent(value: Buffer | null): CloudEvent {
  if (value === null || value.length === 0) throw new PoisonMessageError('empty message value');
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (error) {
    throw new PoisonMessageError(`value is not JSON: ${(error as Error).message}`);
  }
  const envelope = CloudEventEnvelope.safeParse(json);
  if (!envelope.success) {
    const issues = envelope.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new PoisonMessageError(`not a Chitti CloudEvent: ${issues.join('; ')}`);
  }
  const parsed = parseCloudEventType(envelope.data.type);
  if (!parsed) throw new PoisonMessageError(`type '${envelope.data.type}' is not a Chitti event type`);
  let current: ChittiEvent;
  try {
    const definition = definitionOf(parsed.eventType);
    if (parsed.version > definition.version) {
      throw new Error(`v${parsed.version} is newer than this reader's v${definition.version}`);
    }
    // Upcast, then held to the published schema: a message never carries unpublished fields
    // (older ones that did have them dropped here).
    current = upcast(parsed.eventType, parsed.version, envelope.data.data, { published: true });
  } catch (error) {
    throw new PoisonMessageError(`${envelope.data.type} data is invalid: ${(error as Error).message}`);
  }
  const version = definitionOf(current.type).version;
  return {
    ...envelope.data,
    type: cloudEventType(current.type, version),
    // Upcast data adheres to the current version's schema, not to the one the message named.
    ...(envelope.data.dataschema ? { dataschema: dataSchemaUri(current.type, version) } : {}),
    data: current.data,
  };
}
