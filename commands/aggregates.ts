import { acceptanceProfileDecider } from '../domain/acceptance/index.js';
import { accessDecider } from '../domain/access/index.js';
import type { Decider } from '../domain/decider.js';
import { NotFound } from '../domain/errors.js';
import { fileDecider } from '../domain/file/index.js';
import { inspectionDecider } from '../domain/inspection/index.js';
import { modelDecider } from '../domain/model/index.js';
import { userDecider } from '../domain/user/index.js';
import { categoryOf, type StreamCategory } from '../schemas/events/index.js';
import { type LoadedAggregate, loadAggregate, type PointInTime } from './load-aggregate.js';
import type { EventStore } from './ports/event-store.js';

/** The decider that folds each stream category. */
export const decidersByCategory = {
  file: fileDecider,
  inspection: inspectionDecider,
  model: modelDecider,
  user: userDecider,
  access: accessDecider,
  'acceptance-profile': acceptanceProfileDecider,
} as const satisfies Record<StreamCategory, unknown>;

export type AggregateStateOf<C extends StreamCategory> = ReturnType<(typeof decidersByCategory)[C]['initialState']>;

/** Time travel for any stream id (`?asOf=`): the aggregate's state as of a time or global position. */
export function loadAggregateByStreamId(
  store: EventStore,
  streamId: string,
  at: PointInTime = {},
): Promise<LoadedAggregate<unknown> & { readonly category: StreamCategory }> {
  const category = categoryOf(streamId);
  if (category === undefined) throw new NotFound('stream', streamId);
  const decider = decidersByCategory[category] as unknown as Decider<never, unknown, never>;
  return loadAggregate(store, decider, streamId, at).then((loaded) => ({ ...loaded, category }));
}
