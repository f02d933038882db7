import type { RecordedEvent } from '../schemas/events/index.js';
import { tableNamesOf } from './generations.js';
import { handlesEvent, type Projection } from './projection.js';
import type { Tx } from './sql.js';

/** Applies the events a projection handles, in order, to the tables of one generation. */
export async function applyEvents(
  tx: Tx,
  projection: Projection,
  events: readonly RecordedEvent[],
  generation: number,
): Promise<void> {
  const handled = projection.handles === 'all' ? events : events.filter((e) => handlesEvent(projection, e.type));
  if (handled.length > 0) await projection.apply(tx, handled, tableNamesOf(projection, generation));
}
