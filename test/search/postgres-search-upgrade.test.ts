/**
 * Upgrade of an installation whose search tables predate reviews (schema version 0): prepare() adds
 * the columns and rebuilds the contents once, so detections reviewed before the upgrade show it.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { PostgresSearch } from '../../infra/postgres-search/postgres-search.js';
import { SearchProjector } from '../../projections/search/search-projector.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';
import { appendScenario, reviewed, SCENARIO } from './scenario.js';

/** Turns the tables back into their shape before schema versions and reviews, keeping the rows. */
const DOWNGRADE_SQL = `
ALTER TABLE search.detections DROP COLUMN review_verdict, DROP COLUMN review_new_class_name, DROP COLUMN reviewer,
  DROP COLUMN reviewed_at;
ALTER TABLE search.inspections DROP COLUMN live_detections_event_id;
ALTER TABLE search.checkpoint DROP COLUMN schema_version;
`;

describe('Postgres full-text search upgrade', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let store: PostgresEventStore;
  const headPosition = () => store.headPosition();

  const verdicts = async (search: PostgresSearch) =>
    (await search.searchDetections({ limit: 100 })).items.map((h) => [
      h.inspectionId,
      h.detectionId,
      h.review?.verdict ?? null,
    ]);

  beforeAll(async () => {
    db = await createTestDatabase('chitti_search_pg_upgrade');
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    await migrate(pool);
    store = new PostgresEventStore(pool);
    await appendScenario(store);
    await store.append(
      `inspection-${SCENARIO.inspections.first}`,
      [reviewed(SCENARIO.inspections.first, 'd1', 'rejected')],
      { expectedVersion: 'any' },
    );
  });

  afterAll(async () => {
    await store?.close();
    await pool?.end();
    await db?.drop();
  });

  const indexThenDowngrade = async () => {
    await pool.query('DROP SCHEMA IF EXISTS search CASCADE');
    const current = new PostgresSearch(pool, { headPosition });
    await current.prepare();
    await new SearchProjector({ log: store, index: current, batchSize: 3 }).catchUp();
    await pool.query(DOWNGRADE_SQL);
  };

  const expected = [
    ['i-second', 'd0', null],
    ['i-second', 'd1', null],
    ['i-first', 'd0', null],
    ['i-first', 'd1', 'rejected'],
  ];

  it('adds the columns and rebuilds old contents from the log, once', async () => {
    await indexThenDowngrade();
    const search = new PostgresSearch(pool, { headPosition, log: store });
    await search.prepare();
    expect(await verdicts(search)).toEqual(expected);
    expect(await search.checkpoint()).toBe(await store.headPosition());

    // Current contents are left alone by later starts.
    await pool.query(`UPDATE search.detections SET search_text = to_tsvector('simple', 'kept')`);
    await search.prepare();
    expect((await search.searchDetections({ text: 'kept', limit: 100 })).items).toHaveLength(4);
  });

  it('without a log, empties old contents for the projector to refill', async () => {
    await indexThenDowngrade();
    const search = new PostgresSearch(pool, { headPosition });
    await search.prepare();
    expect(await search.checkpoint()).toBe(0);
    expect((await search.searchDetections({ limit: 100 })).items).toEqual([]);
    await new SearchProjector({ log: store, index: search, batchSize: 3 }).catchUp();
    expect(await verdicts(search)).toEqual(expected);
  });
});
