import type { Decider } from '../domain/decider.js';
import { type ChittiEvent, decodeStored, type RecordedEvent } from '../schemas/events/index.js';
import type { EventStore } from './ports/event-store.js';

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

export async function readAggregate<S, E extends ChittiEvent>(
  store: EventStore,
  decider: Decider<never, S, E>,
  streamId: string,
  at: PointInTime = {},
): Promise<LoadedAggregate<S> & { readonly recorded: readonly RecordedEvent[] }> {
  const recorded = await store.readStream(streamId, {
    ...(at.asOf !== undefined ? { asOf: at.asOf } : {}),
    ...(at.toGlobalPosition !== undefined ? { toGlobalPosition: at.toGlobalPosition } : {}),
  });
  let state = decider.initialState();
  for (const event of recorded) state = decider.evolve(state, domainEventOfStored(event) as E);
  const last = recorded.at(-1);
  return {
    streamId,
    state,
    version: last?.streamVersion ?? 0,
    lastGlobalPosition: last?.globalPosition ?? null,
    recorded,
  };
}

/**
 * Folds a stream into its aggregate state, now or as it was at a past time or global position
 * (time travel: what an auditor asks for).
 */
export async function loadAggregate<S, E extends ChittiEvent>(
  store: EventStore,
  decider: Decider<never, S, E>,
  streamId: string,
  at: PointInTime = {},
): Promise<LoadedAggregate<S>> {
  const { recorded: _recorded, ...loaded } = await readAggregate(store, decider, streamId, at);
  return loaded;
}
