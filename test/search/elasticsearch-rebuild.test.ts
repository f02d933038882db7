/**
 * Rebuild into a new generation and swap the aliases while queries run: none fails, every one sees
 * a complete index. A projector whose index was swapped under it resumes from the new checkpoint.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createElasticsearchClient } from '../../infra/elasticsearch/client.js';
import { ElasticsearchSearch } from '../../infra/elasticsearch/elasticsearch-search.js';
import {
  createGeneration,
  currentGeneration,
  pruneGenerations,
  swapAliases,
} from '../../infra/elasticsearch/indices.js';
import { rebuildElasticsearchSearch } from '../../infra/elasticsearch/rebuild.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { SearchProjector } from '../../projections/search/search-projector.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';
import { appendScenario, detectionsRecorded } from './scenario.js';
import { deleteIndicesWithPrefix, TEST_ELASTICSEARCH_URL } from './support/elasticsearch.js';

describe('Elasticsearch search rebuild', () => {
  const prefix = `chitti-rb-${randomBytes(4).toString('hex')}`;
  const client = createElasticsearchClient(TEST_ELASTICSEARCH_URL);
  let db: TestDatabase;
  let pool: pg.Pool;
  let store: PostgresEventStore;
  let search: ElasticsearchSearch;

  beforeAll(async () => {
    db = await createTestDatabase('chitti_search_rebuild');
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    await migrate(pool);
    store = new PostgresEventStore(pool);
    search = new ElasticsearchSearch(client, { prefix, headPosition: () => store.headPosition() });
    await search.prepare();
    await appendScenario(store);
    await new SearchProjector({ log: store, index: search }).catchUp();
    await search.refresh();
  });

  afterAll(async () => {
    await deleteIndicesWithPrefix(client, prefix);
    await client.close();
    await store?.close();
    await pool?.end();
    await db?.drop();
  });

  it('swaps generations atomically: no query fails or sees a partial index during the rebuild', async () => {
    const old = await currentGeneration(client, prefix);
    const expected = (await search.searchDetections({ limit: 100 })).items;
    const expectedAudit = (await search.searchAudit({ limit: 100 })).items.length;
    let rebuilding = true;
    let rounds = 0;
    const partial: string[] = [];
    const failures: unknown[] = [];
    const queries = (async () => {
      // Bounded: stops with the rebuild, or after 2000 rounds at most.
      for (let round = 0; round < 2000 && rebuilding; round++) {
        try {
          const [detections, audit] = await Promise.all([
            search.searchDetections({ limit: 100 }),
            search.searchAudit({ limit: 100 }),
          ]);
          rounds++;
          if (detections.items.length !== expected.length || audit.items.length !== expectedAudit) {
            partial.push(`${detections.items.length} detections, ${audit.items.length} audit entries`);
          }
        } catch (error) {
          failures.push(error);
        }
      }
    })();
    const result = await rebuildElasticsearchSearch({ client, log: store, prefix, batchSize: 2 });
    // A few more rounds after the swap, on the new generation.
    for (let i = 0; i < 5; i++) await search.searchDetections({ limit: 100 });
    rebuilding = false;
    await queries;

    expect(failures).toEqual([]);
    expect(rounds).toBeGreaterThan(0);
    expect(partial).toEqual([]);
    expect(result.generation).not.toBe(old);
    expect(await currentGeneration(client, prefix)).toBe(result.generation);
    expect((await search.searchDetections({ limit: 100 })).items).toEqual(expected);
    expect(await pruneGenerations(client, prefix, 0)).toEqual([old]);
  });

  it('a running projector whose index was swapped to an emptier generation resumes from its checkpoint', async () => {
    const projector = new SearchProjector({ log: store, index: search, batchSize: 3, idleMs: 20 });
    projector.start();
    try {
      await projector.caughtUpTo(await store.headPosition());
      // Point the aliases at a brand-new, empty generation (checkpoint 0) under the running projector.
      const empty = await createGeneration(client, prefix);
      await swapAliases(client, prefix, empty);
      await store.append(
        'inspection-i-late',
        [detectionsRecorded('i-late', '2.0.0', [{ className: 'slag', score: 0.5 }])],
        {
          expectedVersion: 'any',
        },
      );
      const head = await store.headPosition();
      await projector.caughtUpTo(head);
      await search.refresh();
      const page = await search.searchDetections({ limit: 100 });
      expect(page.freshness).toMatchObject({ indexedPosition: head, stale: false });
      expect(page.items.map((h) => h.inspectionId).sort()).toEqual([
        'i-first',
        'i-first',
        'i-late',
        'i-second',
        'i-second',
      ]);
      expect((await search.searchAudit({ limit: 100 })).items).toHaveLength(head);
    } finally {
      await projector.stop();
    }
  });
});
