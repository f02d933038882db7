/**
 * Upgrade of an installation whose live generation has an older mapping version: prepare() replays
 * the log into a generation of the current version and swaps the aliases to it, once.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createElasticsearchClient } from '../../infra/elasticsearch/client.js';
import { ElasticsearchSearch } from '../../infra/elasticsearch/elasticsearch-search.js';
import {
  createGeneration,
  currentGeneration,
  MAPPING_VERSION,
  mappingVersionOf,
  swapAliases,
} from '../../infra/elasticsearch/indices.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { SearchProjector } from '../../projections/search/search-projector.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';
import { appendScenario, reviewed, SCENARIO } from './scenario.js';
import { deleteIndicesWithPrefix, TEST_ELASTICSEARCH_URL } from './support/elasticsearch.js';

describe('Elasticsearch search upgrade', () => {
  const prefix = `chitti-up-${randomBytes(4).toString('hex')}`;
  const client = createElasticsearchClient(TEST_ELASTICSEARCH_URL);
  const old = `v${MAPPING_VERSION - 1}-20260101000000000-abcdef`;
  let db: TestDatabase;
  let pool: pg.Pool;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase('chitti_search_es_upgrade');
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    await migrate(pool);
    store = new PostgresEventStore(pool);
    await appendScenario(store);
    // A live generation of the previous version, filled before the review was recorded.
    await swapAliases(client, prefix, await createGeneration(client, prefix, old));
    const before = new ElasticsearchSearch(client, { prefix, headPosition: () => store.headPosition() });
    await new SearchProjector({ log: store, index: before }).catchUp();
    await store.append(
      `inspection-${SCENARIO.inspections.first}`,
      [reviewed(SCENARIO.inspections.first, 'd1', 'rejected')],
      { expectedVersion: 'any' },
    );
  });

  afterAll(async () => {
    await deleteIndicesWithPrefix(client, prefix);
    await client.close();
    await store?.close();
    await pool?.end();
    await db?.drop();
  });

  it('rebuilds a generation of the current mapping version from the log and swaps to it', async () => {
    const search = new ElasticsearchSearch(client, { prefix, headPosition: () => store.headPosition(), log: store });
    await search.prepare();
    const live = await currentGeneration(client, prefix);
    expect(live).not.toBe(old);
    expect(mappingVersionOf(live!)).toBe(MAPPING_VERSION);
    expect(await search.checkpoint()).toBe(await store.headPosition());
    const hits = (await search.searchDetections({ limit: 100 })).items;
    expect(hits.map((h) => [h.inspectionId, h.detectionId, h.review?.verdict ?? null])).toEqual([
      ['i-second', 'd0', null],
      ['i-second', 'd1', null],
      ['i-first', 'd0', null],
      ['i-first', 'd1', 'rejected'],
    ]);

    await search.prepare();
    expect(await currentGeneration(client, prefix)).toBe(live);
  });
});
