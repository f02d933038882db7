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
