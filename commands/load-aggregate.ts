import type { Decider } from '../domain/decider.js';
import { type ChittiEvent, decodeStored, type RecordedEvent } from '../schemas/events/index.js';
import type { EventStore } from './ports/event-store.js';
import { foldRecorded, initialStreamState, readCurrent, type StreamStateCache, stateCacheOf } from './stream-state.js';

export interface PointInTime {
  /** Only events recorded at or before this time. */
  readonly asOf?: Date;
  /** Only events at or before this global position. */
  readonly toGlobalPosition?: number;
}

export interface LoadedAggregate<S> {
  readonly streamId: string;
  readonly state: S;
  /** Version of the last event folded; 0 when the stream has none (up to the point in time). */
  readonly version: number;
  /** Global position of the last event folded, null when none. */
  readonly lastGlobalPosition: number | null;
}

/**
 * The domain event in today's shape: stored payloads of older versions are upcast on read. A
 * version newer than this code knows (written by a newer release) is refused, never guessed at.
 */
export function domainEventOfStored(event: RecordedEvent): ChittiEvent {
  return decodeStored(event);
}

/**
 * Folds a stream into its aggregate state, now or as it was at a past time or global position
 * (time travel: what an auditor asks for). Now: the store's cached state caught up with the
 * events after its version (one read of what is new, no re-fold); in the past: a fold of the
 * events up to that point.
 */
export async function loadAggregate<S, E extends ChittiEvent>(
  store: EventStore,
  decider: Decider<never, S, E>,
  streamId: string,
  at: PointInTime = {},
  states: StreamStateCache = stateCacheOf(store),
): Promise<LoadedAggregate<S>> {
  if (at.asOf === undefined && at.toGlobalPosition === undefined) {
    const { state, version, lastGlobalPosition } = await readCurrent(store, states, decider, streamId);
    return { streamId, state, version, lastGlobalPosition };
  }
  const recorded = await store.readStream(streamId, {
    ...(at.asOf !== undefined ? { asOf: at.asOf } : {}),
    ...(at.toGlobalPosition !== undefined ? { toGlobalPosition: at.toGlobalPosition } : {}),
  });
  const { state, version, lastGlobalPosition } = foldRecorded(decider, initialStreamState(decider), recorded);
  return { streamId, state, version, lastGlobalPosition };
}
