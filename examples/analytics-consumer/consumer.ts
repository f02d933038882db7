import { readFile } from 'node:fs/promises';
import type { Consumer, Kafka } from 'kafkajs';
import type pg from 'pg';
import { z } from 'zod';
import { defectClassesOf, hourOf, migrateDefectRates, recordInspectionResult } from './defect-rates.js';

/** The published contract of the topic: a downstream team vendors this file, nothing else of Chitti. */
export const PUBLISHED_SCHEMA = new URL('../../schemas/topics/chitti.inspections.schema.json', import.meta.url);

export interface AnalyticsConsumerOptions {
  readonly kafka: Kafka;
  readonly pool: pg.Pool;
  readonly topicPrefix?: string;
  readonly groupId?: string;
  readonly schemaFile?: URL | string;
}

export interface RunningAnalyticsConsumer {
  /** Messages of a `type` the published schema does not list (a newer version): left alone, counted. */
  readonly unknownTypes: Map<string, number>;
  stop(): Promise<void>;
}

/** Only what this consumer reads of a result; the published schema validated the rest. */
const LiveResult = z.object({
  inspectionId: z.string(),
  role: z.string(),
  detections: z.array(z.object({ className: z.string() })),
});

/** One validator per CloudEvents `type` of the topic, built from the published JSON Schema. */
async function loadValidators(file: URL | string): Promise<Map<string, z.ZodType>> {
  const topic = JSON.parse(await readFile(file, 'utf8')) as { oneOf: Record<string, unknown>[] };
  const validators = new Map<string, z.ZodType>();
  for (const branch of topic.oneOf) {
    const type = (branch.properties as { type: { const: string } }).type.const;
    validators.set(type, z.fromJSONSchema(branch as Parameters<typeof z.fromJSONSchema>[0]));
  }
  return validators;
}

/**
 * Builds defect rates from the `inspections` topic only, with plain kafkajs and pg: every live
 * DetectionsRecorded becomes the inspection's result in the hour it was recorded. Each message is
 * validated against the published schema of its `type`; each event id is applied once (the ledger
 * row and the table update commit together); offsets are committed only after that, so a crash
 * redelivers rather than loses.
 */
export async function startAnalyticsConsumer(options: AnalyticsConsumerOptions): Promise<RunningAnalyticsConsumer> {
  await migrateDefectRates(options.pool);
  const validators = await loadValidators(options.schemaFile ?? PUBLISHED_SCHEMA);
  const prefix = options.topicPrefix ?? 'chitti';
  const unknownTypes = new Map<string, number>();
  const consumer: Consumer = options.kafka.consumer({ groupId: options.groupId ?? `${prefix}.analytics.defect-rates` });
  await consumer.connect();
  await consumer.subscribe({ topics: [`${prefix}.inspections`], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const envelope = JSON.parse(message.value?.toString('utf8') ?? 'null') as {
        id: string;
        type: string;
        time: string;
      };
      const validator = validators.get(envelope?.type);
      if (!validator) {
        unknownTypes.set(String(envelope?.type), (unknownTypes.get(String(envelope?.type)) ?? 0) + 1);
        return;
      }
      // A message that breaks the published contract is a producer bug: fail loudly, do not guess.
      const { data } = validator.parse(envelope) as { data: unknown };
      const tx = await options.pool.connect();
      try {
        await tx.query('BEGIN');
        const first = await tx.query(
          'INSERT INTO analytics.processed_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING',
          [envelope.id],
        );
        if (first.rowCount === 1 && envelope.type.startsWith('chitti.DetectionsRecorded.')) {
          const result = LiveResult.parse(data);
          if (result.role === 'live')
            await recordInspectionResult(tx, {
              inspectionId: result.inspectionId,
              hour: hourOf(envelope.time),
              classes: defectClassesOf(result.detections),
            });
        }
        await tx.query('COMMIT');
      } catch (error) {
        await tx.query('ROLLBACK');
        throw error;
      } finally {
        tx.release();
      }
    },
  });
  return { unknownTypes, stop: () => consumer.disconnect() };
}
