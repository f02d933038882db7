import { z } from 'zod';
import { eventDefinitions, publishedSchema } from '../events/index.js';
import { cloudEventType, DEFAULT_TOPIC_PREFIX, type TopicDefinition, topicName, topicOf } from './catalogue.js';

/** Where the published JSON Schemas live: `<base><topic>.schema.json`. */
export const SCHEMA_BASE_URI = 'https://chitti.dev/schemas/topics/';

/** `$anchor` of an event type's data schema inside its topic schema, e.g. `chitti.ModelRegistered.v2`. */
export const dataSchemaAnchor = (eventType: string, version: number): string => cloudEventType(eventType, version);

/**
 * CloudEvents `dataschema` of an event type at a version: the published topic schema, with the
 * fragment naming the `data` subschema of that type and version (a JSON Schema `$anchor`).
 */
export function dataSchemaUri(eventType: string, version: number): string {
  const topic = topicOf(eventType);
  return `${SCHEMA_BASE_URI}${topicName(DEFAULT_TOPIC_PREFIX, topic)}.schema.json#${dataSchemaAnchor(eventType, version)}`;
}

/**
 * A Chitti event on Kafka: a CloudEvents 1.0 structured-mode JSON envelope. Extension attributes
 * are lower-case per the spec. `globalposition` is a decimal string because CloudEvents integers
 * are 32-bit and log positions are 64-bit.
 */
export const CloudEventEnvelope = z.looseObject({
  specversion: z.literal('1.0'),
  /** The event id: unique, stable across redeliveries; consumers dedupe on it. */
  id: z.string().min(1).max(200),
  source: z.string().min(1),
  /** `chitti.<EventType>.v<schema version>`; data is in that version's shape. */
  type: z.string().regex(/^chitti\.[A-Za-z]+\.v[1-9]\d*$/),
  /** The stream id, also the Kafka message key. */
  subject: z.string().min(1),
  time: z.iso.datetime({ offset: true }),
  datacontenttype: z.literal('application/json'),
  /** URI of the JSON Schema `data` adheres to (optional: messages relayed before it was set have none). */
  dataschema: z.url().optional(),
  data: z.unknown(),
  streamid: z.string().min(1),
  /** 1-based version of the event in its stream: per-stream order, gap-free. */
  streamversion: z.number().int().min(1),
  /** Position in the global log, in commit order across all streams (gaps allowed). */
  globalposition: z.string().regex(/^[1-9]\d*$/),
  actor: z.string().min(1),
  traceparent: z
    .string()
    .regex(/^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/)
    .optional(),
  correlationid: z.string().optional(),
  causationid: z.string().optional(),
});
export type CloudEventEnvelope = z.infer<typeof CloudEventEnvelope>;

/** The envelope of one event type at its current version, with its data schema. */
export function eventMessageSchema(eventType: keyof typeof eventDefinitions) {
  const definition = eventDefinitions[eventType];
  return CloudEventEnvelope.extend({
    type: z.literal(cloudEventType(definition.type, definition.version)),
    dataschema: z.literal(dataSchemaUri(eventType, definition.version)).optional(),
    data: publishedSchema(definition).meta({ $anchor: dataSchemaAnchor(definition.type, definition.version) }),
  }).meta({ title: cloudEventType(definition.type, definition.version), description: definition.description });
}

/** What a message on a topic may be: the envelope of any of its event types, discriminated by `type`. */
export function topicMessageSchema(topic: TopicDefinition) {
  const [first, ...rest] = topic.eventTypes.map(eventMessageSchema);
  if (!first) throw new Error(`topic ${topic.name} has no event types`);
  return z.discriminatedUnion('type', [first, ...rest]);
}
