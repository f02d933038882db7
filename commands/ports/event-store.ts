import type { ExpectedVersion, NewEvent, RecordedEvent } from '../../schemas/events/index.js';

export interface AppendResult {
  /** The stream's version after the append: pass it as the next expected version. */
  readonly nextExpectedVersion: number;
  readonly firstGlobalPosition: number;
  readonly lastGlobalPosition: number;
  /** True when the idempotency key was seen before: nothing was appended, the first result is returned. */
  readonly duplicate: boolean;
  /**
   * The events as recorded (versions, global positions, hashes, recorded time), in order; for a
   * duplicate, those the first append under the key wrote. The store knows all of it when it
   * writes, so a caller never reads its own append back.
   */
  readonly events: readonly RecordedEvent[];
}

export interface AppendOptions {
  readonly expectedVersion: ExpectedVersion;
  /** A retry with the same key appends nothing and gets the first append's result. */
  readonly idempotencyKey?: string;
}

export interface ReadStreamOptions {
  readonly direction?: 'forwards' | 'backwards';
  /** Inclusive; forwards default 1, backwards default the last version. */
  readonly fromVersion?: number;
  readonly maxCount?: number;
  /** Time travel: only events at or before this global position / time. */
  readonly toGlobalPosition?: number;
  readonly asOf?: Date;
}

/** The write side's view of the event store. */
export interface EventStore {
  append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /**
   * What the append under an idempotency key wrote (its stream and result, `duplicate: true`), or
   * undefined when no append used the key. Lets a retry learn the outcome of an attempt whose
   * caller died between the commit and the answer, also when the retry would pick a new stream id.
   */
  findIdempotent(key: string): Promise<{ readonly streamId: string; readonly result: AppendResult } | undefined>;
}

export class ConcurrencyError extends Error {
  readonly code = 'concurrency-conflict';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    readonly actual: number | 'no_stream',
  ) {
    super(`stream ${streamId}: expected version ${String(expected)}, actual ${String(actual)}`);
  }
}

export class DuplicateEventIdError extends Error {
  readonly code = 'duplicate-event-id';
  constructor(readonly eventId: string) {
    super(`event id ${eventId} already exists`);
  }
}

export class MetadataTooLargeError extends Error {
  readonly code = 'metadata-too-large';
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`event metadata is ${bytes} bytes, limit ${limit}`);
  }
}

export class InvalidAppendError extends Error {
  readonly code = 'invalid-append';
}

/** The read side's view of the event store: the global log, in commit order, never skipping an event. */
export interface GlobalLog {
  /** Events with globalPosition > after, in order, at most maxCount. */
  readAll(options: { after: number; maxCount: number }): Promise<RecordedEvent[]>;
  /** Highest position visible to readers now (0 when empty). */
  headPosition(): Promise<number>;
  /**
   * Catch-up then live: calls handle with batches in order from `after`, waking on new commits
   * (LISTEN/NOTIFY) rather than polling. Resolves `stop()` once the current batch is done.
   */
  subscribe(options: SubscribeOptions): LogSubscription;
}

export interface SubscribeOptions {
  after: number;
  batchSize?: number;
  /** Who subscribes, for readiness reports and logs (`identity`, `projection:files`, ...). */
  name?: string;
  handle: (batch: readonly RecordedEvent[]) => Promise<void>;
  /**
   * Payloads as stored JSON text (`data` is then a string), not parsed: for a reader that forwards
   * them as they are (the Kafka relay), parsing and re-serialising is its main cost. A log may
   * ignore it and hand parsed payloads, so readers must accept both.
   */
  dataAsText?: boolean;
  /**
   * Told about every failed read or handle; the same batch is then retried after a backoff, for as
   * long as it takes. Without it, only an unavailable database is waited out and any other failure
   * ends the subscription.
   */
  onError?: (error: unknown) => void;
}

/** `retrying`: the last read or handle failed and it is waiting to try the same batch again. */
export type SubscriptionState = 'running' | 'retrying' | 'failed' | 'stopped';

export interface SubscriptionStatus {
  readonly name: string;
  readonly state: SubscriptionState;
  /** Position of the last batch handled. */
  readonly checkpoint: number;
  /** Consecutive failures (0 while healthy). */
  readonly failures: number;
  readonly lastError?: unknown;
}

export interface LogSubscription {
  stop(): Promise<void>;
  /**
   * Resolves when the subscription has handled everything up to `position`. With `failFast`, it
   * rejects with the failure as soon as a read or handle fails (the subscription itself keeps
   * retrying), so a request does not hang through an outage.
   */
  caughtUpTo(position: number, options?: { failFast?: boolean }): Promise<void>;
  status(): SubscriptionStatus;
}
