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
  subscribe(options: {
    after: number;
    batchSize?: number;
    handle: (batch: readonly RecordedEvent[]) => Promise<void>;
    onError?: (error: unknown) => void;
  }): LogSubscription;
}

export interface LogSubscription {
  stop(): Promise<void>;
  /** Resolves when the subscription has handled everything up to `position`. */
  caughtUpTo(position: number): Promise<void>;
}
