import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { PostgresSearch } from '../../infra/postgres-search/postgres-search.js';
import { SearchProjector } from '../../projections/search/search-projector.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';
import { appendScenario, detectionsRecorded } from './scenario.js';

const gauge = async (registry: Registry, name: string): Promise<number> => {
  const metric = await registry.getSingleMetric(name)!.get();
  return metric.values[0]!.value;
};

describe('search projector', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase('chitti_search_projector');
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    await migrate(pool);
    store = new PostgresEventStore(pool);
  });

  afterAll(async () => {
    await store?.close();
    await pool?.end();
    await db?.drop();
  });

  it('follows the log while running, reports lag and status, and exports gauges', async () => {
    const search = new PostgresSearch(pool, { headPosition: () => store.headPosition() });
    await search.prepare();
    const registry = new Registry();
    const projector = new SearchProjector({ log: store, index: search, batchSize: 2, idleMs: 20, registry });
    await appendScenario(store);
    const head = await store.headPosition();
    expect((await projector.status()).lag).toBe(head);
    projector.start();
    await projector.caughtUpTo(head);
    expect(await projector.status()).toMatchObject({ state: 'running', lag: 0, indexedPosition: head, failures: 0 });
    expect(await gauge(registry, 'chitti_search_projection_lag_events')).toBe(0);
    expect(await gauge(registry, 'chitti_search_projection_checkpoint_position')).toBe(head);
    expect(await gauge(registry, 'chitti_search_projection_up')).toBe(1);

    // New events while running are picked up without being told.
    await store.append(
      'inspection-i-new',
      [detectionsRecorded('i-new', '1.0.0', [{ className: 'slag', score: 0.7 }])],
      {
        expectedVersion: 'any',
      },
    );
    await projector.caughtUpTo(head + 1);
    expect((await search.searchDetections({ className: 'slag', limit: 5 })).items.map((h) => h.inspectionId)).toEqual([
      'i-new',
    ]);
    await projector.stop();
    expect((await projector.status()).state).toBe('stopped');
    expect(await gauge(registry, 'chitti_search_projection_up')).toBe(0);
    expect(await search.checkpoint()).toBe(head + 1);
  });
});
