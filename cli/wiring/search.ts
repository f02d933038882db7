import { createElasticsearchClient } from '../../infra/elasticsearch/client.js';
import { ElasticsearchSearch } from '../../infra/elasticsearch/elasticsearch-search.js';
import { rebuildElasticsearchSearch } from '../../infra/elasticsearch/rebuild.js';
import { PostgresSearch } from '../../infra/postgres-search/postgres-search.js';
import type { SearchIndex, SearchQueries } from '../../projections/search/ports.js';
import type { Runtime } from '../runtime.js';

export type Search = SearchIndex & SearchQueries;

/** Elasticsearch when ELASTICSEARCH_URL is set, PostgreSQL full-text search otherwise: one port. */
export interface OpenedSearch {
  readonly search: Search;
  readonly backend: 'elasticsearch' | 'postgres';
  /** Replays the whole log into a fresh index and swaps it in while queries keep working. */
  rebuild(): Promise<object>;
}

export async function openSearch(runtime: Runtime): Promise<OpenedSearch> {
  const headPosition = () => runtime.store.headPosition();
  const url = runtime.config.ELASTICSEARCH_URL;
  if (url) {
    const client = createElasticsearchClient(url);
    runtime.onClose(() => client.close());
    const prefix = runtime.config.ELASTICSEARCH_INDEX_PREFIX;
    const search = new ElasticsearchSearch(client, { prefix, headPosition, log: runtime.store });
    await search.prepare();
    return {
      search,
      backend: 'elasticsearch',
      rebuild: () => rebuildElasticsearchSearch({ client, prefix, log: runtime.store }),
    };
  }
  const search = new PostgresSearch(runtime.pool, { headPosition, log: runtime.store });
  await search.prepare();
  return { search, backend: 'postgres', rebuild: () => search.rebuild(runtime.store) };
}
