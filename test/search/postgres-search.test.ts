import { PostgresSearch } from '../../infra/postgres-search/postgres-search.js';
import { searchConformance } from './search.conformance.js';

searchConformance('PostgreSQL full-text search', {
  async create(log, pool) {
    return new PostgresSearch(pool, { headPosition: () => log.headPosition() });
  },
  async dispose() {
    // The suite drops its whole database.
  },
});
