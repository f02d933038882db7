import type { Registry } from 'prom-client';
import { readModelProjections } from '../../projections/read-models/index.js';
import { ProjectionRunner } from '../../projections/runner.js';
import { SearchProjector } from '../../projections/search/search-projector.js';
import type { Runtime } from '../runtime.js';
import type { Search } from './search.js';

/** The read side: every PostgreSQL read model plus the search index, each from its own checkpoint. */
export async function startProjector(runtime: Runtime, search: Search, registry: Registry) {
  const runner = new ProjectionRunner({
    pool: runtime.pool,
    log: runtime.store,
    projections: readModelProjections,
    logger: runtime.logger,
    registry,
  });
  await runner.start();
  const searchProjector = new SearchProjector({ log: runtime.store, index: search, logger: runtime.logger, registry });
  searchProjector.start();
  runtime.onClose(async () => {
    await searchProjector.stop();
    await runner.stop();
  });
  return { runner, searchProjector };
}
