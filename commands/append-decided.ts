import type { ChittiEvent, ExpectedVersion } from '../schemas/events/index.js';
import { type CommandContext, eventMetadataOf, scopedIdempotencyKey } from './context.js';
import type { AppendResult, EventStore } from './ports/event-store.js';

/**
 * Appends decided events with the command's metadata and idempotency key. The store answers with
 * the events as recorded (versions, positions, hashes, time), so nothing is read back.
 */
export function appendDecided(
  store: EventStore,
  streamId: string,
  events: readonly ChittiEvent[],
  ctx: CommandContext,
  expectedVersion: ExpectedVersion,
): Promise<AppendResult> {
  const metadata = eventMetadataOf(ctx);
  const idempotencyKey = scopedIdempotencyKey(ctx);
  return store.append(
    streamId,
    events.map((e) => ({ type: e.type, data: e.data, metadata })),
    { expectedVersion, ...(idempotencyKey !== undefined ? { idempotencyKey } : {}) },
  );
}
