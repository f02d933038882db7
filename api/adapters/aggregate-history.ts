import { loadAggregateByStreamId } from '../../commands/index.js';
import type { EventStore } from '../../commands/ports/event-store.js';
import { currentVersionOf, decodeStored } from '../../schemas/events/index.js';
import type { AggregateHistory } from '../ports/queries.js';

/** Folds any aggregate from the event store, now or as of a past time or position. */
export function aggregateHistory(store: EventStore): AggregateHistory {
  return {
    async load(streamId, at) {
      const loaded = await loadAggregateByStreamId(store, streamId, at ?? {});
      if (loaded.version === 0 || loaded.lastGlobalPosition === null) return undefined;
      return { state: loaded.state, streamVersion: loaded.version, lastGlobalPosition: loaded.lastGlobalPosition };
    },
    async events(streamId, at) {
      const recorded = await store.readStream(streamId, {
        ...(at && 'asOf' in at ? { asOf: at.asOf } : {}),
        ...(at && 'toGlobalPosition' in at ? { toGlobalPosition: at.toGlobalPosition } : {}),
      });
      return recorded.map((event) => ({
        ...event,
        data: decodeStored(event).data,
        schemaVersion: currentVersionOf(event.type),
      }));
    },
    async versionAt(streamId, globalPosition) {
      const [last] = await store.readStream(streamId, {
        direction: 'backwards',
        toGlobalPosition: globalPosition,
        maxCount: 1,
      });
      return last?.streamVersion;
    },
  };
}
