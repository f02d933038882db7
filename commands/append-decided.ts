import type { ChittiEvent, ExpectedVersion, RecordedEvent } from '../schemas/events/index.js';
import type { CommandResult } from './command-result.js';
import { type CommandContext, eventMetadataOf, scopedIdempotencyKey } from './context.js';
import type { AppendResult, EventStore } from './ports/event-store.js';

const READ_BACK_PAGE = 100;

/** Appends decided events with the command's metadata and idempotency key; returns them as recorded. */
export async function appendDecided(
  store: EventStore,
  streamId: string,
  events: readonly ChittiEvent[],
  ctx: CommandContext,
  expectedVersion: ExpectedVersion,
): Promise<CommandResult> {
  const metadata = eventMetadataOf(ctx);
  const idempotencyKey = scopedIdempotencyKey(ctx);
  const result = await store.append(
    streamId,
    events.map((e) => ({ type: e.type, data: e.data, metadata })),
    { expectedVersion, ...(idempotencyKey !== undefined ? { idempotencyKey } : {}) },
  );
  return {
    streamId,
    events: await readAppended(store, streamId, result),
    nextExpectedVersion: result.nextExpectedVersion,
    duplicate: result.duplicate,
  };
}

/**
 * The events one append wrote: they end at `nextExpectedVersion` and lie within the append's
 * global positions. Read backwards page by page, since a duplicate's event count is not known.
 */
export async function readAppended(
  store: EventStore,
  streamId: string,
  result: AppendResult,
): Promise<RecordedEvent[]> {
  const found: RecordedEvent[] = [];
  let fromVersion = result.nextExpectedVersion;
  while (fromVersion >= 1) {
    const page = await store.readStream(streamId, {
      direction: 'backwards',
      fromVersion,
      maxCount: READ_BACK_PAGE,
      toGlobalPosition: result.lastGlobalPosition,
    });
    for (const event of page) {
      if (event.globalPosition < result.firstGlobalPosition) return found.reverse();
      found.push(event);
    }
    if (page.length < READ_BACK_PAGE) break;
    fromVersion = page.at(-1)!.streamVersion - 1;
  }
  return found.reverse();
}
