import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedKafka } from './kafka-server.js';

// Proves kafkajs 2.2.4 speaks to the broker infra/local/kafka.sh runs: admin, idempotent produce,
// and a consumer group (which needs the offsets topic, i.e. the single-node replication settings).
describe('local Kafka broker with kafkajs', () => {
  let kafka: Kafka;
  const topic = `test.broker.${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'broker-test', brokers: await sharedKafka(), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    await admin.disconnect();
  });

  afterAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
  });

  it('creates topics, produces idempotently and consumes in a group with committed offsets', async () => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const sent = Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 5}`, value: `v${i}` }));
    const acks = await producer.send({ topic, messages: sent, acks: -1 });
    await producer.disconnect();
    expect(acks.map((a) => a.errorCode)).toEqual(acks.map(() => 0));

    const admin = kafka.admin();
    await admin.connect();
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(metadata.topics[0]?.partitions).toHaveLength(3);

    const groupId = `${topic}.group`;
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const received: string[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            received.push(message.value?.toString() ?? '');
            if (received.length === sent.length) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    expect(received.sort()).toEqual(sent.map((m) => m.value).sort());

    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    const committed = offsets[0]?.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
    await admin.disconnect();
    expect(committed).toBe(sent.length);
  });
});
