import type { Kafka } from 'kafkajs';
import {
  type InspectionRequestHandler,
  type InspectionRequestSource,
  inspectionRequestFrom,
} from '../../inference/ports/request-source.js';
import { currentVersionOf } from '../../schemas/events/index.js';
import { domainEventOf } from './cloud-event.js';
import { type RunConsumerOptions, type RunningConsumer, runConsumer, UnprocessableEventError } from './consumer.js';
import type { DedupeStore } from './dedupe.js';

export interface KafkaInspectionSourceOptions<Tx> {
  readonly kafka: Kafka;
  readonly dedupe: DedupeStore<Tx>;
  readonly groupId?: string;
  readonly topicPrefix?: string;
  /** Requests in flight per member: what lets the micro-batcher fill batches (default 8). */
  readonly concurrency?: number;
  readonly onError?: (error: unknown) => void;
  readonly onDeadLetter?: RunConsumerOptions<Tx>['onDeadLetter'];
  readonly onLag?: RunConsumerOptions<Tx>['onLag'];
}

/**
 * Distributed mode: inspection requests from `chitti.inspections` through a consumer group, so
 * replicas share partitions. A request the processor failed for good (InspectionFailed final) is
 * dead-lettered with its reason; everything else is committed once handled.
 */
export class KafkaInspectionSource<Tx> implements InspectionRequestSource {
  private consumer: RunningConsumer | undefined;

  constructor(private readonly options: KafkaInspectionSourceOptions<Tx>) {}

  async start(handler: InspectionRequestHandler): Promise<void> {
    if (this.consumer) throw new Error('the source is already started');
    const prefix = this.options.topicPrefix ?? 'chitti';
    this.consumer = await runConsumer({
      kafka: this.options.kafka,
      groupId: this.options.groupId ?? 'chitti-inference',
      topics: [`${prefix}.inspections`],
      topicPrefix: prefix,
      dedupe: this.options.dedupe,
      partitionsConsumedConcurrently: this.options.concurrency ?? 8,
      ...(this.options.onError ? { onError: this.options.onError } : {}),
      ...(this.options.onDeadLetter ? { onDeadLetter: this.options.onDeadLetter } : {}),
      ...(this.options.onLag ? { onLag: this.options.onLag } : {}),
      handle: async (envelope) => {
        const event = domainEventOf(envelope);
        const request = inspectionRequestFrom({
          eventId: envelope.id,
          type: event.type,
          schemaVersion: currentVersionOf(event.type),
          data: event.data,
          metadata: {
            ...(envelope.correlationid ? { correlationId: envelope.correlationid } : {}),
            ...(envelope.traceparent ? { traceparent: envelope.traceparent } : {}),
          },
        });
        if (!request) return;
        const [outcome] = await handler([request]);
        if (outcome?.status === 'failed') {
          throw new UnprocessableEventError(`inspection failed for good (${outcome.code}): ${outcome.reason}`);
        }
      },
    });
    await this.consumer.joined;
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
    this.consumer = undefined;
  }
}
