import type { Kafka } from 'kafkajs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConsumer } from '../../infra/kafka/consumer.js';
import { PostgresDedupeStore } from '../../infra/kafka/dedupe.js';
import { migrateKafkaIntegration } from '../../infra/kafka/migrate.js';
import { KafkaRelay } from '../../infra/kafka/relay.js';
import { PostgresRelayCheckpoints } from '../../infra/kafka/relay-checkpoints.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { allTopics, CloudEventEnvelope, deadLetterTopic } from '../../schemas/topics/index.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';
import {
  detectionsRecorded,
  eventually,
  inspectionRequested,
  readTopics,
  testKafka,
  uniquePrefix,
} from './fixtures.js';
import { type LocalKafka, localKafka } from './kafka-server.js';

// Fault: the broker goes away while the relay and a consumer run, then comes back. This suite has
// its own broker instance (port 19092) so that stopping it disturbs no other suite.
describe('Kafka stopped and restarted under the relay and a consumer', () => {
  let broker: LocalKafka;
  let db: TestDatabase;
  let pool: pg.Pool;
  let store: PostgresEventStore;
  let kafka: Kafka;
  const prefix = uniquePrefix();
  const relayName = `relay-${prefix}`;

  beforeAll(async () => {
    broker = localKafka({ instance: 'faults', port: 19092, controllerPort: 19093 });
    await broker.start();
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 6 });
    await migrate(pool);
    await migrateKafkaIntegration(pool);
    await pool.query('CREATE TABLE effects (event_id text NOT NULL)');
    store = new PostgresEventStore(pool, { safetyPollMs: 500 });
    kafka = testKafka(broker.brokers);
  });

  afterAll(async () => {
    // Fewer topics make the next start of this broker faster.
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: allTopics(prefix).concat(deadLetterTopic(prefix)) }).catch(() => undefined);
    await admin.disconnect();
    await store.close();
    await pool.end();
    await db.drop();
    await broker.stop();
  });

  async function appendInspections(from: number, count: number) {
    for (let i = from; i < from + count; i++) {
      await store.append(
        `inspection-o${i}`,
        [
          { ...inspectionRequested(`o${i}`), metadata: { actor: 'user-1' } },
          { ...detectionsRecorded(`o${i}`, ['crack']), metadata: { actor: 'worker-1' } },
        ],
        { expectedVersion: 'no_stream' },
      );
    }
  }

  const handledCount = async () =>
    (await pool.query('SELECT count(DISTINCT event_id)::int AS n FROM effects')).rows[0].n as number;
  const checkpoint = () => new PostgresRelayCheckpoints(pool).load(relayName);

  it('delivers every event, handles none twice, and never checkpoints an unacknowledged event', async () => {
    let publishFailures = 0;
    const relay = new KafkaRelay({
      log: store,
      kafka,
      checkpoints: new PostgresRelayCheckpoints(pool),
      name: relayName,
      topicPrefix: prefix,
      partitions: 3,
      batchSize: 10,
      retry: { initialMs: 100, maxMs: 500 },
      onError: () => publishFailures++,
    });
    await relay.start();
    const consumer = await runConsumer({
      kafka,
      groupId: `${prefix}.outage`,
      topics: [`${prefix}.inspections`],
      topicPrefix: prefix,
      partitions: 3,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 500,
      retry: { initialMs: 50, maxMs: 200 },
      dedupe: new PostgresDedupeStore(pool),
      handle: async (event, { tx }) => {
        await tx.query('INSERT INTO effects (event_id) VALUES ($1)', [event.id]);
      },
    });

    await appendInspections(0, 15);
    await eventually('first 30 events handled', async () => (await handledCount()) === 30, 60_000);

    await broker.stop();
    const acknowledgedBeforeOutage = await checkpoint();
    expect(acknowledgedBeforeOutage).toBe(await store.headPosition());
    await appendInspections(15, 15);
    const failuresAtOutage = publishFailures;
    await eventually('relay fails to publish while the broker is down', () => publishFailures >= failuresAtOutage + 2);
    // Nothing appended during the outage was acknowledged, so nothing of it is checkpointed.
    expect(await checkpoint()).toBe(acknowledgedBeforeOutage);
    expect(relay.position).toBe(acknowledgedBeforeOutage);

    await broker.start();
    const head = await store.headPosition();
    await relay.waitUntilPublished(head);
    await eventually('all 60 events handled after the restart', async () => (await handledCount()) === 60, 90_000);
    await consumer.stop();
    await relay.stop();

    expect(await checkpoint()).toBe(head);
    const { rows } = await pool.query<{ event_id: string }>('SELECT event_id FROM effects');
    const stored = await store.readAll({ after: 0, maxCount: 1000 });
    expect(rows).toHaveLength(60);
    expect(rows.map((r) => r.event_id).sort()).toEqual(stored.map((e) => e.eventId).sort());
    // Every event up to the checkpoint is really on the broker.
    const onBroker = new Set(
      (await readTopics(kafka, [`${prefix}.inspections`], 60)).map(
        (m) => CloudEventEnvelope.parse(JSON.parse(m.value)).id,
      ),
    );
    for (const event of stored) expect(onBroker.has(event.eventId)).toBe(true);
  }, 240_000);
});
