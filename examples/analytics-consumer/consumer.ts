import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import { domainEventOf } from '../../infra/kafka/cloud-event.js';
import { type RunningConsumer, runConsumer } from '../../infra/kafka/consumer.js';
import { PostgresDedupeStore } from '../../infra/kafka/dedupe.js';
import { migrateKafkaIntegration } from '../../infra/kafka/migrate.js';
import { DEFAULT_TOPIC_PREFIX } from '../../schemas/topics/index.js';
import { defectClassesOf, hourOf, migrateDefectRates, recordInspectionResult } from './defect-rates.js';

export interface AnalyticsConsumerOptions {
  readonly kafka: Kafka;
  readonly pool: pg.Pool;
  readonly topicPrefix?: string;
  readonly groupId?: string;
}

/**
 * Builds defect rates from the `inspections` topic only: every live DetectionsRecorded becomes the
 * inspection's result in the hour it was recorded. Shadow results and other event types are
 * skipped. Each event is applied once (dedupe ledger in the same transaction).
 */
export async function startAnalyticsConsumer(options: AnalyticsConsumerOptions): Promise<RunningConsumer> {
  await migrateKafkaIntegration(options.pool);
  await migrateDefectRates(options.pool);
  const prefix = options.topicPrefix ?? DEFAULT_TOPIC_PREFIX;
  return runConsumer({
    kafka: options.kafka,
    groupId: options.groupId ?? `${prefix}.analytics.defect-rates`,
    topics: [`${prefix}.inspections`],
    topicPrefix: prefix,
    dedupe: new PostgresDedupeStore(options.pool),
    handle: async (envelope, { tx }) => {
      const event = domainEventOf(envelope);
      if (event.type !== 'DetectionsRecorded' || event.data.role !== 'live') return;
      await recordInspectionResult(tx, {
        inspectionId: event.data.inspectionId,
        hour: hourOf(envelope.time),
        classes: defectClassesOf(event.data.detections),
      });
    },
  });
}
