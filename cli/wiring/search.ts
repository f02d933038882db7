import { createElasticsearchClient } from '../../infra/elasticsearch/client.js';
import { ElasticsearchSearch } from '../../infra/elasticsearch/elasticsearch-search.js';
import { PostgresSearch } from '../../infra/postgres-search/postgres-search.js';
import type { SearchIndex, SearchQueries } from '../../projections/search/ports.js';
import type { Runtime } from '../runtime.js';

export type Search = SearchIndex & SearchQueries;

/** Elasticsearch when ELASTICSEARCH_URL is set, PostgreSQL full-text search otherwise: one port. */
export async function openSearch(runtime: Runtime): Promise<{ search: Search; backend: 'elasticsearch' | 'postgres' }> {
  const headPosition = () => runtime.store.headPosition();
  const url = runtime.config.ELASTICSEARCH_URL;
  if (url) {
    const client = createElasticsearchClient(url);
    runtime.onClose(() => client.close());
    const search = new ElasticsearchSearch(client, { headPosition });
    await search.prepare();
    return { search, backend: 'elasticsearch' };
  }
  const search = new PostgresSearch(runtime.pool, { headPosition });
  await search.prepare();
  return { search, backend: 'postgres' };
}
