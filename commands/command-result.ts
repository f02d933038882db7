import type { RecordedEvent } from '../schemas/events/index.js';

export interface CommandResult<S = unknown> {
  readonly streamId: string;
  /** The events the command recorded; for a duplicate, those the first attempt recorded. Empty when already satisfied. */
  readonly events: readonly RecordedEvent[];
  /** The stream's version after the command: the next If-Match / expected version. */
  readonly nextExpectedVersion: number;
  /** True when the idempotency key was seen before and nothing was appended now. */
  readonly duplicate: boolean;
  /**
   * The stream's state after the command (the decider's fold up to `nextExpectedVersion`, or the
   * stream's current state for a duplicate): a caller that goes on with the same stream (a
   * workflow) decides its next step on it without reading the stream again.
   */
  readonly state: S;
}
