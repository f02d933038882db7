import type { NewEvent } from '../../schemas/events/index.js';
import type { AppendOptions, EventStore, ReadStreamOptions } from '../ports/event-store.js';

/** Counts of the calls a CountingStore passed on, per stream. */
export interface StoreCalls {
  readonly reads: Map<string, number>;
  readonly appends: Map<string, number>;
  findIdempotent: number;
}

/**
 * A real event store seen through a counter: every call goes to `inner` unchanged, and the reads
 * and appends per stream are counted, so a test can say how many round trips a flow made.
 */
export function countingStore(inner: EventStore): { readonly store: EventStore; readonly calls: StoreCalls } {
  const calls: StoreCalls = { reads: new Map(), appends: new Map(), findIdempotent: 0 };
  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  const store: EventStore = {
    append(streamId: string, events: readonly NewEvent[], options: AppendOptions) {
      bump(calls.appends, streamId);
      return inner.append(streamId, events, options);
    },
    readStream(streamId: string, options?: ReadStreamOptions) {
      bump(calls.reads, streamId);
      return inner.readStream(streamId, options);
    },
    findIdempotent(key: string) {
      calls.findIdempotent++;
      return inner.findIdempotent(key);
    },
  };
  return { store, calls };
}
