import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { isDependencyUnavailable } from '../../commands/ports/unavailable.js';
import { DEFAULT_TOPIC_PREFIX, deadLetterTopic } from '../../schemas/topics/index.js';
import { inConsumerSpan } from '../traceparent.js';
import { type CloudEvent, decodeCloudEvent, PoisonMessageError } from './cloud-event.js';
import { type DeadLetterKind, deadLetterMessage } from './dead-letter.js';
import type { DedupeStore } from './dedupe.js';
import { type BackoffPolicy, backoffDelay, sleep } from './retry.js';
import { ensureTopics } from './topics.js';

function headerText(value: IHeaders[string]): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/** Thrown by a handler that knows the event can never be handled: dead-lettered without retries. */
export class UnprocessableEventError extends Error {
  override readonly name = 'UnprocessableEventError';
  readonly code = 'unprocessable-event';
}

export interface Delivery<Tx> {
  /** The dedupe store's transaction: write the handler's effect through it to commit both together. */
  readonly tx: Tx;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly headers: IHeaders;
  /** 1 on the first try. */
  readonly attempt: number;
}

export interface RunConsumerOptions<Tx> {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Runs at most once per event id and consumer (per `dedupe`); throw to retry. */
  readonly handle: (event: CloudEvent, delivery: Delivery<Tx>) => Promise<void>;
  readonly dedupe: DedupeStore<Tx>;
  /** Name in the dedupe ledger; defaults to the group id. */
  readonly consumerName?: string;
  /**
   * Tries per message before it is dead-lettered (default 5). Failures that are outages of a
   * dependency (see `isOutage`) do not count: they are retried with backoff until it is back.
   */
  readonly maxAttempts?: number;
  /** Default: network errors and PostgreSQL connection/shutdown errors. */
  readonly isOutage?: (error: unknown) => boolean;
  readonly retry?: Partial<BackoffPolicy>;
  readonly topicPrefix?: string;
  /** Defaults to `<topicPrefix>.dead-letter`. */
  readonly deadLetterTopic?: string;
  /** Partitions for topics this consumer has to create because they do not exist yet (default 6). */
  readonly partitions?: number;
  /** Where a group without committed offsets starts (default: the beginning). */
  readonly fromBeginning?: boolean;
  readonly sessionTimeoutMs?: number;
  /** Longest a fetch waits for new messages; also bounds how long stop() waits (default 1000). */
  readonly maxWaitTimeMs?: number;
  readonly heartbeatIntervalMs?: number;
  /** Partitions handled in parallel by this member; order within a partition is kept (default 1). */
  readonly partitionsConsumedConcurrently?: number;
  /** Commit after this many handled messages within a batch, and always at its end (default 100). */
  readonly commitEvery?: number;
  readonly onError?: (error: unknown, event: { topic: string; partition: number; offset: string }) => void;
  /** A redelivered event the dedupe store had already seen: skipped, its offset committed. */
  readonly onDuplicate?: (event: CloudEvent, delivery: { topic: string; partition: number; offset: string }) => void;
  readonly onDeadLetter?: (info: { kind: DeadLetterKind; reason: string; topic: string; offset: string }) => void;
  /**
   * Consumer lag of a partition after each handled message: messages on the broker (its high
   * watermark) after this one, still to handle by this group.
   */
  readonly onLag?: (info: { topic: string; partition: number; lag: number }) => void;
}

export interface RunningConsumer {
  /** Resolves once this member has joined the group and received its partitions. */
  readonly joined: Promise<void>;
  /** Finishes the message in hand (retries are abandoned, uncommitted work is redelivered) and leaves the group. */
  stop(): Promise<void>;
}

type Outcome = 'done' | 'abandoned';

/**
 * A Kafka consumer-group member for Chitti events. Offsets are committed only after a message was
 * handled (or dead-lettered), so a crash redelivers rather than loses; redeliveries are absorbed
 * by the dedupe store. A failing handler is retried with backoff, then the message goes to the
 * dead-letter topic with the reason and its original headers; unparseable messages go there at once.
 */
export async function runConsumer<Tx>(options: RunConsumerOptions<Tx>): Promise<RunningConsumer> {
  const consumerName = options.consumerName ?? options.groupId;
  const maxAttempts = options.maxAttempts ?? 5;
  const policy: BackoffPolicy = { initialMs: 200, maxMs: 5_000, ...options.retry };
  const dlqTopic = options.deadLetterTopic ?? deadLetterTopic(options.topicPrefix ?? DEFAULT_TOPIC_PREFIX);
  const commitEvery = options.commitEvery ?? 100;

  const admin = options.kafka.admin();
  await admin.connect();
  try {
    const numPartitions = options.partitions ?? 6;
    await ensureTopics(
      admin,
      [...options.topics, dlqTopic].map((topic) => ({ topic, numPartitions })),
    );
  } finally {
    await admin.disconnect();
  }

  const producer: Producer = options.kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  const consumer: Consumer = options.kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: options.heartbeatIntervalMs ?? 3_000,
    maxWaitTimeInMs: options.maxWaitTimeMs ?? 1_000,
    allowAutoTopicCreation: false,
  });
  let stopping = false;
  let markJoined: () => void = () => undefined;
  const joined = new Promise<void>((resolve) => {
    markJoined = resolve;
  });
  consumer.on(consumer.events.GROUP_JOIN, () => markJoined());

  async function deadLetter(
    payload: EachBatchPayload,
    message: KafkaMessage,
    kind: DeadLetterKind,
    reason: string,
    attempts: number,
  ) {
    const { topic, partition } = payload.batch;
    await producer.send({
      topic: dlqTopic,
      acks: -1,
      messages: [
        deadLetterMessage(message, {
          kind,
          reason,
          consumer: consumerName,
          attempts,
          topic,
          partition,
          failedAt: new Date(),
        }),
      ],
    });
    options.onDeadLetter?.({ kind, reason, topic, offset: message.offset });
  }

  async function handleMessage(payload: EachBatchPayload, message: KafkaMessage): Promise<Outcome> {
    const { topic, partition } = payload.batch;
    let event: CloudEvent;
    try {
      event = decodeCloudEvent(message.value);
    } catch (error) {
      if (!(error instanceof PoisonMessageError)) throw error;
      await deadLetter(payload, message, 'poison', error.message, 0);
      return 'done';
    }
    const isOutage = options.isOutage ?? isDependencyUnavailable;
    let attempt = 1;
    for (let tries = 1; ; tries++) {
      try {
        const attributes = {
          'messaging.system': 'kafka',
          'messaging.operation': 'process',
          'messaging.destination.name': topic,
          'messaging.destination.partition.id': String(partition),
          'messaging.consumer.group.name': options.groupId,
          'messaging.message.id': event.id,
          'messaging.kafka.message.offset': Number(message.offset),
        };
        // The header names the relay's send span when it made one (the trace then runs through the
        // relay); the envelope's is the event's own trace.
        const parent = headerText(message.headers?.traceparent) ?? event.traceparent;
        const result = await inConsumerSpan(`handle ${topic}`, parent, attributes, () =>
          options.dedupe.runOnce(consumerName, event.id, (tx) =>
            options.handle(event, {
              tx,
              topic,
              partition,
              offset: message.offset,
              headers: message.headers ?? {},
              attempt,
            }),
          ),
        );
        if (result === 'duplicate') options.onDuplicate?.(event, { topic, partition, offset: message.offset });
        return 'done';
      } catch (error) {
        options.onError?.(error, { topic, partition, offset: message.offset });
        const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        if (error instanceof UnprocessableEventError) {
          await deadLetter(payload, message, 'rejected', reason, attempt);
          return 'done';
        }
        // An outage is not the message's fault: it does not use up the message's attempts.
        if (!isOutage(error)) {
          if (attempt >= maxAttempts) {
            await deadLetter(payload, message, 'exhausted', reason, attempt);
            return 'done';
          }
          attempt++;
        }
        await sleep(backoffDelay(policy, tries));
        if (stopping || !payload.isRunning() || payload.isStale()) return 'abandoned';
        await payload.heartbeat();
      }
    }
  }

  async function commit(payload: EachBatchPayload, offset: string) {
    const { topic, partition } = payload.batch;
    const next = (BigInt(offset) + 1n).toString();
    await payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: next }] }] });
  }

  await producer.connect();
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [...options.topics], fromBeginning: options.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
      eachBatch: async (payload) => {
        let uncommitted: string | undefined;
        let sinceCommit = 0;
        for (const message of payload.batch.messages) {
          if (stopping || !payload.isRunning() || payload.isStale()) break;
          if ((await handleMessage(payload, message)) === 'abandoned') break;
          payload.resolveOffset(message.offset);
          options.onLag?.({
            topic: payload.batch.topic,
            partition: payload.batch.partition,
            lag: Math.max(0, Number(BigInt(payload.batch.highWatermark) - BigInt(message.offset) - 1n)),
          });
          uncommitted = message.offset;
          if (++sinceCommit >= commitEvery) {
            await commit(payload, message.offset);
            uncommitted = undefined;
            sinceCommit = 0;
          }
          await payload.heartbeat();
        }
        if (uncommitted !== undefined) await commit(payload, uncommitted);
      },
    });
  } catch (error) {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    throw error;
  }

  return {
    joined,
    async stop() {
      stopping = true;
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}
