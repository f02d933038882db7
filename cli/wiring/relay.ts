import { Kafka, logLevel } from 'kafkajs';
import { KafkaRelay } from '../../infra/kafka/relay.js';
import { PostgresRelayCheckpoints } from '../../infra/kafka/relay-checkpoints.js';
import type { Runtime } from '../runtime.js';

export function kafkaOf(runtime: Runtime, clientId: string): Kafka {
  const brokers = runtime.config.KAFKA_BROKERS;
  if (!brokers) throw new Error('KAFKA_BROKERS is not set');
  return new Kafka({ clientId, brokers, logLevel: logLevel.WARN });
}

/** Global log → Kafka topics, checkpointed in PostgreSQL after each acknowledged batch. */
export async function startRelay(runtime: Runtime): Promise<KafkaRelay> {
  const relay = new KafkaRelay({
    log: runtime.store,
    kafka: kafkaOf(runtime, 'chitti-relay'),
    checkpoints: new PostgresRelayCheckpoints(runtime.pool),
    partitions: runtime.config.KAFKA_PARTITIONS,
    topicPrefix: runtime.config.KAFKA_TOPIC_PREFIX,
    onError: (error) => runtime.logger.warn({ err: error }, 'relay: publish failed, retrying'),
  });
  await relay.start();
  runtime.onClose(() => relay.stop());
  runtime.logger.info({ brokers: runtime.config.KAFKA_BROKERS }, 'relay publishing the log to Kafka');
  return relay;
}
