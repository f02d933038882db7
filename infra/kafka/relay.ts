import type { Kafka, Message, Producer } from 'kafkajs';
import type { GlobalLog, LogSubscription } from '../../commands/ports/event-store.js';
import type { RecordedEvent } from '../../schemas/events/index.js';
import { allTopics, DEFAULT_TOPIC_PREFIX } from '../../schemas/topics/index.js';
import { type ProducerSpan, startProducerSpan } from '../traceparent.js';
import { DEFAULT_SOURCE, toKafkaMessage } from './cloud-event.js';
import type { RelayCheckpointStore } from './relay-checkpoints.js';
import { type BackoffPolicy, backoffDelay, sleep } from './retry.js';
import { ensureTopics } from './topics.js';

export interface RelayOptions {
  readonly log: GlobalLog;
  readonly kafka: Kafka;
  readonly checkpoints: RelayCheckpointStore;
  /** Checkpoint name; two relays with the same name must not run at once. */
  readonly name?: string;
  readonly topicPrefix?: string;
  /** Partitions of topics the relay creates (existing topics are left alone). */
  readonly partitions?: number;
  readonly replicationFactor?: number;
  /** CloudEvents `source`. */
  readonly source?: string;
  /** Events read from the log and sent to the broker per batch. */
  readonly batchSize?: number;
  /** Encoded batches read ahead while the broker works on the send in flight (read-ahead). */
  readonly pipelineDepth?: number;
  /** Backoff between attempts to publish a batch the broker did not acknowledge. */
  readonly retry?: Partial<BackoffPolicy>;
  /** Failed publish attempts and subscription errors; the relay keeps retrying. */
  readonly onError?: (error: unknown) => void;
  /** Called after each acknowledged batch has been checkpointed. */
  readonly onPublished?: (batch: { readonly lastPosition: number; readonly count: number }) => void;
}

interface EncodedBatch {
  readonly lastPosition: number;
  readonly count: number;
  readonly topicMessages: { topic: string; messages: Message[] }[];
  /** One per traced event, ended when the broker acknowledged the batch. */
  readonly spans: ProducerSpan[];
  /** Value bytes per message key (stream): all of one key land in one partition's record batch. */
  readonly bytesByKey: Map<string, number>;
}

/**
 * Queued batches are sent together, one request and one checkpoint write for all of them, while
 * every stream's share stays under this many value bytes: a key's messages all go to one partition,
 * whose record batch the broker refuses above `message.max.bytes` (1 MiB by default).
 */
const MAX_KEY_BYTES_PER_SEND = 512 * 1024;
/** At most this many read batches in one send. */
const MAX_BATCHES_PER_SEND = 8;

export class RelayStoppedError extends Error {
  readonly code = 'relay-stopped';
  constructor() {
    super('relay stopped');
  }
}

/**
 * Publishes the global log to Kafka, at least once, in log order per stream: each event goes to
 * its aggregate's topic keyed by stream id, as a CloudEvents JSON envelope. The checkpoint moves
 * only after the broker acknowledged (acks=all) every event up to it, so after a crash or a broker
 * outage publishing resumes from the last acknowledged event; what may repeat, consumers dedupe
 * by event id.
 */
export class KafkaRelay {
  private readonly name: string;
  private readonly topicPrefix: string;
  private readonly source: string;
  private readonly policy: BackoffPolicy;
  private readonly pipelineDepth: number;
  private producer: Producer | undefined;
  private subscription: LogSubscription | undefined;
  private readonly queue: EncodedBatch[] = [];
  private acknowledged = 0;
  private stopping = false;
  private wakeSender: (() => void) | undefined;
  private wakeReaders: (() => void)[] = [];
  private positionWaiters: { position: number; resolve: () => void }[] = [];
  private sender: Promise<void> | undefined;

  constructor(private readonly options: RelayOptions) {
    this.name = options.name ?? 'kafka-relay';
    this.topicPrefix = options.topicPrefix ?? DEFAULT_TOPIC_PREFIX;
    this.source = options.source ?? DEFAULT_SOURCE;
    this.pipelineDepth = options.pipelineDepth ?? 4;
    this.policy = { initialMs: 100, maxMs: 5_000, ...options.retry };
  }

  /** Highest global position acknowledged by the broker and checkpointed. */
  get position(): number {
    return this.acknowledged;
  }

  async start(): Promise<void> {
    // Topics, checkpoint and producer connection are independent round trips: made at once.
    const [, acknowledged] = await Promise.all([
      this.ensureTopics(),
      this.options.checkpoints.load(this.name),
      this.connectedProducer().catch((error: unknown) => {
        // The send loop connects again with backoff; a broker down at start is not fatal.
        this.options.onError?.(error);
      }),
    ]);
    this.acknowledged = acknowledged;
    this.sender = this.sendLoop();
    this.subscription = this.options.log.subscribe({
      after: this.acknowledged,
      batchSize: this.options.batchSize ?? 1000,
      name: 'relay',
      // Payloads forwarded as stored: no parse and re-serialisation per event.
      dataAsText: true,
      handle: (batch) => this.enqueue(batch),
      onError: (error) => {
        if (!(error instanceof RelayStoppedError)) this.options.onError?.(error);
      },
    });
  }

  private async ensureTopics(): Promise<void> {
    const admin = this.options.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(
        admin,
        allTopics(this.topicPrefix).map((topic) => ({
          topic,
          numPartitions: this.options.partitions ?? 6,
          replicationFactor: this.options.replicationFactor,
        })),
      );
    } finally {
      await admin.disconnect();
    }
  }

  /** Resolves once every event up to `position` is acknowledged and checkpointed. */
  waitUntilPublished(position: number): Promise<void> {
    if (this.acknowledged >= position) return Promise.resolve();
    return new Promise((resolve) => this.positionWaiters.push({ position, resolve }));
  }

  /** Stops reading, sends what was read if the broker answers, and disconnects. */
  async stop(): Promise<void> {
    // Flag first: a reader blocked on a full queue must not hold up the subscription's stop.
    this.stopping = true;
    for (const wake of this.wakeReaders.splice(0)) wake();
    this.wakeSender?.();
    await this.subscription?.stop();
    await this.sender;
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = undefined;
  }

  private async enqueue(batch: readonly RecordedEvent[]): Promise<void> {
    if (batch.length === 0) return;
    const encoded = this.encode(batch);
    while (this.queue.length >= this.pipelineDepth && !this.stopping) {
      await new Promise<void>((resolve) => this.wakeReaders.push(resolve));
    }
    if (this.stopping) throw new RelayStoppedError();
    this.queue.push(encoded);
    this.wakeSender?.();
  }

  private encode(batch: readonly RecordedEvent[]): EncodedBatch {
    const byTopic = new Map<string, Message[]>();
    const spans: ProducerSpan[] = [];
    const bytesByKey = new Map<string, number>();
    for (const event of batch) {
      const { topic, key, value, headers } = toKafkaMessage(event, {
        topicPrefix: this.topicPrefix,
        source: this.source,
      });
      // The header names the send span (child of the event's trace); the envelope keeps the event's own.
      const span = event.metadata.traceparent
        ? startProducerSpan(`send ${topic}`, event.metadata.traceparent, {
            'messaging.system': 'kafka',
            'messaging.operation.type': 'send',
            'messaging.destination.name': topic,
            'messaging.message.id': event.eventId,
            'messaging.kafka.message.key': key,
            'chitti.global_position': event.globalPosition,
          })
        : undefined;
      if (span?.traceparent) {
        headers.traceparent = span.traceparent;
        spans.push(span);
      }
      // Encoded to bytes once, here: kafkajs would otherwise convert the string inside the send.
      const bytes = Buffer.from(value);
      bytesByKey.set(key, (bytesByKey.get(key) ?? 0) + bytes.length);
      const messages = byTopic.get(topic);
      if (messages) messages.push({ key, value: bytes, headers });
      else byTopic.set(topic, [{ key, value: bytes, headers }]);
    }
    const last = batch[batch.length - 1] as RecordedEvent;
    return {
      lastPosition: last.globalPosition,
      count: batch.length,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      spans,
      bytesByKey,
    };
  }

  /**
   * The queued batches that go in one send: the first, and as many of the following as keep each
   * stream's share under the broker's record-batch limit.
   */
  private takeSend(): { batches: number; send: EncodedBatch } {
    const first = this.queue[0]!;
    const bytes = new Map(first.bytesByKey);
    let taken = 1;
    for (; taken < Math.min(this.queue.length, MAX_BATCHES_PER_SEND); taken++) {
      const next = this.queue[taken]!;
      let fits = true;
      for (const [key, n] of next.bytesByKey) {
        if ((bytes.get(key) ?? 0) + n > MAX_KEY_BYTES_PER_SEND) {
          fits = false;
          break;
        }
      }
      if (!fits) break;
      for (const [key, n] of next.bytesByKey) bytes.set(key, (bytes.get(key) ?? 0) + n);
    }
    if (taken === 1) return { batches: 1, send: first };
    const byTopic = new Map<string, Message[]>();
    let count = 0;
    for (const batch of this.queue.slice(0, taken)) {
      count += batch.count;
      for (const { topic, messages } of batch.topicMessages) {
        const list = byTopic.get(topic);
        if (list) for (const m of messages) list.push(m);
        else byTopic.set(topic, [...messages]);
      }
    }
    return {
      batches: taken,
      send: {
        lastPosition: this.queue[taken - 1]!.lastPosition,
        count,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        bytesByKey: bytes,
        spans: this.queue.slice(0, taken).flatMap((b) => b.spans),
      },
    };
  }

  private async sendLoop(): Promise<void> {
    // The checkpoint write of one send overlaps the next send: the broker, not Postgres, sets the pace.
    let checkpointing: Promise<boolean> = Promise.resolve(true);
    for (;;) {
      if (this.queue.length === 0) {
        if (this.stopping) break;
        await new Promise<void>((resolve) => {
          this.wakeSender = resolve;
        });
        this.wakeSender = undefined;
        continue;
      }
      const { batches, send } = this.takeSend();
      // Taken off the queue before the broker answers, so the log is read and encoded while the
      // broker works: the next send is ready when this one is acknowledged. Until then this send is
      // retried as it is, and the checkpoint moves only once it is acknowledged (publish, below).
      this.queue.splice(0, batches);
      for (const wake of this.wakeReaders.splice(0)) wake();
      if (!(await this.publish(send))) break;
      const previous = checkpointing;
      checkpointing = previous.then((ok) => ok && this.checkpoint(send));
      if (!(await previous)) break;
    }
    await checkpointing;
  }

  /** Publishes one send until the broker acknowledges it; false when stopped while failing. */
  private async publish(batch: EncodedBatch): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        const producer = await this.connectedProducer();
        await producer.sendBatch({ topicMessages: batch.topicMessages, acks: -1 });
        return true;
      } catch (error) {
        this.options.onError?.(error);
        // A producer that gave up may hold stale idempotence sequence numbers: start a fresh one.
        await this.producer?.disconnect().catch(() => undefined);
        this.producer = undefined;
        if (!(await this.backoff(attempt))) {
          for (const span of batch.spans) span.end(error);
          return false;
        }
      }
    }
  }

  /** Records an acknowledged send, retrying the write until it lands; false when stopped while failing. */
  private async checkpoint(batch: EncodedBatch): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.options.checkpoints.save(this.name, batch.lastPosition);
        this.acknowledged = batch.lastPosition;
        for (const span of batch.spans) span.end();
        this.options.onPublished?.({ lastPosition: batch.lastPosition, count: batch.count });
        this.releaseWaiters();
        return true;
      } catch (error) {
        this.options.onError?.(error);
        if (!(await this.backoff(attempt))) return false;
      }
    }
  }

  private async backoff(attempt: number): Promise<boolean> {
    if (this.stopping) return false;
    await sleep(backoffDelay(this.policy, attempt));
    return !this.stopping;
  }

  private async connectedProducer(): Promise<Producer> {
    if (this.producer) return this.producer;
    const producer = this.options.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 2_000 },
    });
    try {
      await producer.connect();
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
    this.producer = producer;
    return producer;
  }

  private releaseWaiters(): void {
    const pending: typeof this.positionWaiters = [];
    for (const waiter of this.positionWaiters) {
      if (waiter.position <= this.acknowledged) waiter.resolve();
      else pending.push(waiter);
    }
    this.positionWaiters = pending;
  }
}
