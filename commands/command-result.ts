import type { RecordedEvent } from '../schemas/events/index.js';

export interface CommandResult {
  readonly streamId: string;
  /** The events the command recorded; for a duplicate, those the first attempt recorded. Empty when already satisfied. */
  readonly events: readonly RecordedEvent[];
  /** The stream's version after the command: the next If-Match / expected version. */
  readonly nextExpectedVersion: number;
  /** True when the idempotency key was seen before and nothing was appended now. */
  readonly duplicate: boolean;
}
