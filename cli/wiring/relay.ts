import { Kafka, logLevel } from 'kafkajs';
import { Counter, Gauge, type Registry } from 'prom-client';
import { KafkaRelay } from '../../infra/kafka/relay.js';
import { PostgresRelayCheckpoints } from '../../infra/kafka/relay-checkpoints.js';
import type { Runtime } from '../runtime.js';

export function kafkaOf(runtime: Runtime, clientId: string): Kafka {
  const brokers = runtime.config.KAFKA_BROKERS;
  if (!brokers) throw new Error('KAFKA_BROKERS is not set');
  return new Kafka({ clientId, brokers, logLevel: logLevel.WARN });
}

/**
 * Global log → Kafka topics, checkpointed in PostgreSQL after each acknowledged batch. Its
 * throughput and position go to `registry` (its lag behind the log is read from the event store
 * where the API is scraped: `chitti_relay_lag_events`).
 */
export async function startRelay(runtime: Runtime, registry: Registry): Promise<KafkaRelay> {
  const registers = [registry];
  const published = new Counter({
    name: 'chitti_relay_published_events_total',
    help: 'Events the relay published to Kafka (acknowledged by the broker and checkpointed)',
    registers,
  });
  const batches = new Counter({
    name: 'chitti_relay_batches_total',
    help: 'Batches the relay published',
    registers,
  });
  const failures = new Counter({
    name: 'chitti_relay_publish_failures_total',
    help: 'Failed publish attempts and log read errors (the relay retries with backoff)',
    registers,
  });
  const position = new Gauge({
    name: 'chitti_relay_position',
    help: 'Global position of the last event this relay published',
    registers,
  });
  const relay = new KafkaRelay({
    log: runtime.store,
    kafka: kafkaOf(runtime, 'chitti-relay'),
    checkpoints: new PostgresRelayCheckpoints(runtime.pool),
    partitions: runtime.config.KAFKA_PARTITIONS,
    topicPrefix: runtime.config.KAFKA_TOPIC_PREFIX,
    onError: (error) => {
      failures.inc();
      runtime.logger.warn({ err: error }, 'relay: publish failed, retrying');
    },
    onPublished: ({ lastPosition, count }) => {
      published.inc(count);
      batches.inc();
      position.set(lastPosition);
    },
  });
  await relay.start();
  runtime.onClose(() => relay.stop());
  runtime.logger.info({ brokers: runtime.config.KAFKA_BROKERS }, 'relay publishing the log to Kafka');
  return relay;
}
