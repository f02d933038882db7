import type { Registry } from 'prom-client';
import type { GlobalLog } from '../../commands/ports/event-store.js';
import type { BlobStore } from '../../inference/ports/blob-store.js';
import { BlobEraser } from '../../projections/reactors/blob-eraser.js';
import { readModelProjections } from '../../projections/read-models/index.js';
import { ProjectionRunner } from '../../projections/runner.js';
import { SearchProjector } from '../../projections/search/search-projector.js';
import type { Runtime } from '../runtime.js';
import type { Search } from './search.js';

/**
 * The read side: every PostgreSQL read model, the search index and the blob eraser (deleted files'
 * bytes), each from its own checkpoint.
 */
export async function startProjector(
  runtime: Runtime,
  search: Search,
  registry: Registry,
  blobs: BlobStore,
  options: { readonly readModelLog?: GlobalLog } = {},
) {
  const runner = new ProjectionRunner({
    pool: runtime.pool,
    // The read models' view of the log: a read cache in the same process notes each batch first.
    log: options.readModelLog ?? runtime.store,
    projections: readModelProjections,
    logger: runtime.logger,
    registry,
  });
  await runner.start();
  const searchProjector = new SearchProjector({ log: runtime.store, index: search, logger: runtime.logger, registry });
  searchProjector.start();
  const eraser = new BlobEraser({ pool: runtime.pool, log: runtime.store, blobs, logger: runtime.logger });
  await eraser.start();
  runtime.onClose(async () => {
    await eraser.stop();
    await searchProjector.stop();
    await runner.stop();
  });
  return { runner, searchProjector };
}
