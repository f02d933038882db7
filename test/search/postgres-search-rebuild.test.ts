/** Embedded-mode rebuild: one transaction replays the log while readers keep the old contents. */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { PostgresSearch } from '../../infra/postgres-search/postgres-search.js';
import { SearchProjector } from '../../projections/search/search-projector.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';
import { appendScenario } from './scenario.js';

describe('Postgres full-text search rebuild', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let store: PostgresEventStore;
  let search: PostgresSearch;

  beforeAll(async () => {
    db = await createTestDatabase('chitti_search_pg_rebuild');
    pool = new pg.Pool({ connectionString: db.url, max: 6 });
    await migrate(pool);
    store = new PostgresEventStore(pool);
    search = new PostgresSearch(pool, { headPosition: () => store.headPosition() });
    await search.prepare();
    await appendScenario(store);
    await new SearchProjector({ log: store, index: search, batchSize: 3 }).catchUp();
  });

  afterAll(async () => {
    await store?.close();
    await pool?.end();
    await db?.drop();
  });

  it('repairs damaged tables from the log while every concurrent query sees a complete index', async () => {
    const expected = (await search.searchDetections({ limit: 100 })).items;
    const expectedAudit = (await search.searchAudit({ limit: 100 })).items;
    // Damage the read side: a lost row and a wrong tag.
    await pool.query(`DELETE FROM search.detections WHERE id = $1`, [expected[0]!.id]);
    await pool.query(`UPDATE search.detections SET tags = '{bogus}'`);
    const damaged = await search.searchDetections({ limit: 100 });
    expect(damaged.items).toHaveLength(expected.length - 1);

    let rebuilding = true;
    let rounds = 0;
    const seen: number[] = [];
    const failures: unknown[] = [];
    const queries = (async () => {
      for (let i = 0; i < 500 && rebuilding; i++) {
        try {
          seen.push((await search.searchDetections({ limit: 100 })).items.length);
          rounds++;
        } catch (error) {
          failures.push(error);
        }
      }
    })();
    const result = await search.rebuild(store, { batchSize: 2 });
    rebuilding = false;
    await queries;

    expect(failures).toEqual([]);
    expect(rounds).toBeGreaterThan(0);
    // Before the commit the damaged contents, after it the rebuilt ones: never anything in between.
    expect(seen.every((n) => n === expected.length - 1 || n === expected.length)).toBe(true);
    expect(result).toEqual({ position: await store.headPosition(), applied: await store.headPosition() });
    expect((await search.searchDetections({ limit: 100 })).items).toEqual(expected);
    expect((await search.searchAudit({ limit: 100 })).items).toEqual(expectedAudit);
    expect(await search.checkpoint()).toBe(await store.headPosition());
  });
});
