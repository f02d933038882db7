import type { RecordedEvent } from '../schemas/events/index.js';

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
