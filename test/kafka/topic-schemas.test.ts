import { readFile } from 'node:fs/promises';
import { type CloudEvent, Kafka as CloudEventsKafka, type KafkaMessage } from 'cloudevents';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresEventStore } from '../../infra/postgres/event-store.js';
import type { EventType } from '../../schemas/events/index.js';
import {
  allTopics,
  dataSchemaUri,
  eventExamples,
  parseCloudEventType,
  topicCatalogue,
  topicMessageSchema,
} from '../../schemas/topics/index.js';
import { readTopics, uniquePrefix } from './fixtures.js';
import { openRelayTestStack, type RelayTestStack } from './relay-stack.js';

const repoRoot = new URL('../../', import.meta.url);

// The published contract (schemas/topics/*.schema.json, generated from the same zod schemas) must
// describe what the relay really puts on the broker: one event of every type goes through the
// real event store, relay and Kafka, and each message read back is validated.
describe('relayed messages match the published topic schemas', () => {
  let stack: RelayTestStack;
  let store: PostgresEventStore;
  let kafka: Kafka;
  const prefix = uniquePrefix();

  beforeAll(async () => {
    stack = await openRelayTestStack();
    ({ store, kafka } = stack);
  });

  afterAll(() => stack.close(allTopics(prefix)));

  it('validates a real message of every event type', async () => {
    const eventTypes = Object.keys(eventExamples) as EventType[];
    for (const type of eventTypes) {
      const example = eventExamples[type];
      await store.append(example.streamId, [{ type, data: example.data, metadata: { actor: 'schema-test' } }], {
        expectedVersion: 'any',
      });
    }
    await stack.publishAll(prefix);

    const messages = await readTopics(kafka, allTopics(prefix), eventTypes.length);
    const seenTypes = new Set<string>();
    for (const message of messages) {
      const topic = topicCatalogue.find((t) => message.topic === `${prefix}.${t.name}`);
      if (!topic) throw new Error(`unexpected topic ${message.topic}`);
      const value = JSON.parse(message.value);
      const parsed = topicMessageSchema(topic).safeParse(value);
      expect(parsed.error, `${message.topic} ${value.type}`).toBeUndefined();
      // The committed JSON Schema of that topic names this exact type.
      const committed = JSON.parse(
        await readFile(new URL(`schemas/topics/chitti.${topic.name}.schema.json`, repoRoot), 'utf8'),
      );
      const branch = committed.oneOf.find(
        (b: { properties: { type: { const: string } } }) => b.properties.type.const === value.type,
      );
      expect(branch?.required).toEqual(
        // dataschema is optional in the schema only for messages relayed before it was set.
        expect.arrayContaining(Object.keys(value).filter((k) => k in branch.properties && k !== 'dataschema')),
      );
      // The official CloudEvents SDK reads it (Kafka binding, structured mode, validating the
      // attributes), and its dataschema names the data schema of this very type and version.
      const kafkaMessage: KafkaMessage<string> = {
        headers: message.headers,
        key: message.key,
        value: message.value,
        body: message.value,
      };
      const event = CloudEventsKafka.toEvent(kafkaMessage) as CloudEvent<unknown>;
      expect(event.validate()).toBe(true);
      const { eventType, version } = parseCloudEventType(value.type)!;
      expect(event).toMatchObject({
        specversion: '1.0',
        id: value.id,
        type: value.type,
        subject: message.key,
        dataschema: dataSchemaUri(eventType, version),
        streamid: message.key,
        globalposition: value.globalposition,
      });
      expect(event.data).toEqual(value.data);
      const anchor = new URL(event.dataschema!).hash.slice(1);
      expect(branch.properties.data.$anchor).toBe(anchor);
      seenTypes.add(value.type);
    }
    expect(seenTypes.size).toBe(eventTypes.length);
  });
});
