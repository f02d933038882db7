import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../schemas/events/index.js';
import { allTopics, CloudEventEnvelope } from '../../schemas/topics/index.js';
import {
  detectionsRecorded,
  inspectionRequested,
  readTopics,
  topicMessageCount,
  uniquePrefix,
} from '../../test/kafka/fixtures.js';
import { openRelayTestStack, type RelayTestStack } from '../../test/kafka/relay-stack.js';
import type { PostgresEventStore } from '../postgres/event-store.js';
import { KafkaRelay } from './relay.js';
import { PostgresRelayCheckpoints } from './relay-checkpoints.js';

const fileUploaded = (fileId: string): NewEvent => ({
  type: 'FileUploaded',
  data: {
    fileId,
    sha256: 'c'.repeat(64),
    sizeBytes: 1234,
    mediaType: 'image/png',
    width: 64,
    height: 48,
    bitDepth: 8,
    channels: 1,
    originalName: `${fileId}.png`,
    uploadedBy: 'user-1',
    tags: ['weld'],
  },
  metadata: { actor: 'user-1' },
});

describe('KafkaRelay: Postgres global log to real Kafka', () => {
  let stack: RelayTestStack;
  let pool: pg.Pool;
  let store: PostgresEventStore;
  let kafka: Kafka;
  const prefix = uniquePrefix();

  beforeAll(async () => {
    stack = await openRelayTestStack({ safetyPollMs: 500 });
    ({ pool, store, kafka } = stack);
  });

  afterAll(() => stack.close(allTopics(prefix)));

  const newRelay = () =>
    new KafkaRelay({
      log: store,
      kafka,
      checkpoints: new PostgresRelayCheckpoints(pool),
      name: `relay-${prefix}`,
      topicPrefix: prefix,
      partitions: 3,
      batchSize: 7,
      source: '/chitti/test',
    });

  async function appendInspection(id: string) {
    await store.append(
      `inspection-${id}`,
      [
        { ...inspectionRequested(id), metadata: { actor: 'user-1', correlationId: `c-${id}` } },
        { ...detectionsRecorded(id, ['crack', 'porosity']), metadata: { actor: 'worker-1' } },
      ],
      { expectedVersion: 'no_stream' },
    );
  }

  it('publishes every event once, keyed by stream, in stream order, and checkpoints what was acknowledged', async () => {
    for (let i = 0; i < 10; i++) await appendInspection(`i${i}`);
    for (let i = 0; i < 5; i++) {
      await store.append(`file-f${i}`, [fileUploaded(`f${i}`)], { expectedVersion: 'no_stream' });
    }
    const relay = newRelay();
    await relay.start();
    await relay.waitUntilPublished(await store.headPosition());
    // Live: appended while the relay runs, woken by the store's notification.
    await appendInspection('live');
    await relay.waitUntilPublished(await store.headPosition());
    await relay.stop();

    const head = await store.headPosition();
    expect(await new PostgresRelayCheckpoints(pool).load(`relay-${prefix}`)).toBe(head);
    const messages = await readTopics(kafka, allTopics(prefix), 27);
    const stored = await store.readAll({ after: 0, maxCount: 1000 });
    expect(messages).toHaveLength(stored.length);
    expect(await topicMessageCount(kafka, allTopics(prefix))).toBe(stored.length);

    const envelopes = messages.map((m) => ({ message: m, envelope: CloudEventEnvelope.parse(JSON.parse(m.value)) }));
    expect(envelopes.map((e) => e.envelope.id).sort()).toEqual(stored.map((e) => e.eventId).sort());
    for (const { message, envelope } of envelopes) {
      expect(message.key).toBe(envelope.streamid);
      expect(message.topic).toBe(envelope.streamid.startsWith('file-') ? `${prefix}.files` : `${prefix}.inspections`);
      expect(message.headers['content-type']).toBe('application/cloudevents+json; charset=UTF-8');
    }
    // One stream lives on one partition, in stream-version order.
    const byStream = new Map<string, { partition: number; versions: number[] }>();
    for (const { message, envelope } of envelopes) {
      const entry = byStream.get(envelope.streamid) ?? { partition: message.partition, versions: [] };
      expect(entry.partition).toBe(message.partition);
      entry.versions.push(envelope.streamversion);
      byStream.set(envelope.streamid, entry);
    }
    for (const { versions } of byStream.values()) expect(versions).toEqual([...versions].sort((a, b) => a - b));
    const live = envelopes.find((e) => e.envelope.subject === 'inspection-live' && e.envelope.streamversion === 1);
    expect(live?.envelope).toMatchObject({
      type: 'chitti.InspectionRequested.v3',
      correlationid: 'c-live',
      actor: 'user-1',
    });
  });

  it('resumes after its checkpoint: a restarted relay publishes only what came after', async () => {
    const before = await store.headPosition();
    await appendInspection('after-restart');
    const relay = newRelay();
    await relay.start();
    await relay.waitUntilPublished(await store.headPosition());
    await relay.stop();

    const messages = await readTopics(kafka, [`${prefix}.inspections`], 24);
    const subjects = messages.map((m) => CloudEventEnvelope.parse(JSON.parse(m.value)));
    expect(subjects.filter((e) => e.subject === 'inspection-after-restart')).toHaveLength(2);
    expect(subjects.filter((e) => Number(e.globalposition) <= before)).toHaveLength(22);
    expect(new Set(subjects.map((e) => e.id)).size).toBe(subjects.length);
    expect(await topicMessageCount(kafka, allTopics(prefix))).toBe(29);
  });
});
