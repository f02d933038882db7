import type { Kafka } from 'kafkajs';
import pg from 'pg';
import { migrateKafkaIntegration } from '../../infra/kafka/migrate.js';
import { KafkaRelay } from '../../infra/kafka/relay.js';
import { PostgresRelayCheckpoints } from '../../infra/kafka/relay-checkpoints.js';
import { PostgresEventStore, type PostgresEventStoreOptions } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { createTestDatabase } from '../support/pg.js';
import { deleteTopics, testKafka } from './fixtures.js';
import { sharedKafka } from './kafka-server.js';

/** A fresh database with the event store and Kafka integration tables, and a client for the shared broker. */
export interface RelayTestStack {
  readonly pool: pg.Pool;
  readonly store: PostgresEventStore;
  readonly kafka: Kafka;
  /** Relays everything in the log to `prefix`'s topics (one partition each), then stops the relay. */
  publishAll(prefix: string): Promise<void>;
  /** Deletes `topics` (best effort), closes the store and pool, drops the database. */
  close(topics: string[]): Promise<void>;
}

export async function openRelayTestStack(storeOptions?: PostgresEventStoreOptions): Promise<RelayTestStack> {
  const db = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  await migrate(pool);
  await migrateKafkaIntegration(pool);
  const store = new PostgresEventStore(pool, storeOptions);
  const kafka = testKafka(await sharedKafka());
  return {
    pool,
    store,
    kafka,
    async publishAll(prefix) {
      const relay = new KafkaRelay({
        log: store,
        kafka,
        checkpoints: new PostgresRelayCheckpoints(pool),
        name: `relay-${prefix}`,
        topicPrefix: prefix,
        partitions: 1,
      });
      await relay.start();
      await relay.waitUntilPublished(await store.headPosition());
      await relay.stop();
    },
    async close(topics) {
      await deleteTopics(kafka, topics);
      await store.close();
      await pool.end();
      await db.drop();
    },
  };
}
