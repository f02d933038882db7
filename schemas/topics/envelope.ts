import { z } from 'zod';
import { eventDefinitions } from '../events/index.js';
import { cloudEventType, type TopicDefinition } from './catalogue.js';

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
    data: definition.schema,
  }).meta({ title: cloudEventType(definition.type, definition.version), description: definition.description });
}

/** What a message on a topic may be: the envelope of any of its event types, discriminated by `type`. */
export function topicMessageSchema(topic: TopicDefinition) {
  const [first, ...rest] = topic.eventTypes.map(eventMessageSchema);
  if (!first) throw new Error(`topic ${topic.name} has no event types`);
  return z.discriminatedUnion('type', [first, ...rest]);
}
