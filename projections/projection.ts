import type { Logger } from '../commands/ports/logger.js';
import type { RecordedEvent } from '../schemas/events/index.js';
import type { TableSpec, Tx } from './sql.js';

/** Maps a table's logical name to the qualified physical table of the generation being written. */
export type TableNames = (logical: string) => string;

/**
 * A read model fed from the global log. `apply` receives, in order, only the events whose type
 * it handles, inside the transaction that also advances its checkpoint: it must not commit.
 */
export interface Projection {
  readonly name: string;
  /** Bump when tables or meaning change: the runner then rebuilds before going live. */
  readonly version: number;
  readonly tables: readonly TableSpec[];
  /** Event types it reads; 'all' for every event, including types this build does not know. */
  readonly handles: ReadonlySet<string> | 'all';
  apply(tx: Tx, events: readonly RecordedEvent[], tables: TableNames): Promise<void>;
}

export const handlesEvent = (projection: Projection, type: string): boolean =>
  projection.handles === 'all' || projection.handles.has(type);

/** The one logger port (commands/ports/logger.ts), under the name projections have used. */
export type ProjectionLogger = Logger;

export class UnknownProjectionError extends Error {
  readonly code = 'unknown-projection';
  constructor(readonly projection: string) {
    super(`no projection named '${projection}'`);
  }
}
