/**
 * Fault: Elasticsearch stops while the search projector runs. Its lag grows, queries fail with a
 * clear SearchUnavailableError, and after the restart it catches up to index contents equal to a
 * fresh rebuild. Runs on a separate node (ES_INSTANCE=fault) so other suites keep theirs.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createElasticsearchClient } from '../../infra/elasticsearch/client.js';
import { ElasticsearchSearch } from '../../infra/elasticsearch/elasticsearch-search.js';
import { rebuildElasticsearchSearch } from '../../infra/elasticsearch/rebuild.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { SearchUnavailableError } from '../../projections/search/ports.js';
import { SearchProjector } from '../../projections/search/search-projector.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';
import { appendScenario, detectionsRecorded } from './scenario.js';
import { deleteIndicesWithPrefix } from './support/elasticsearch.js';

const run = promisify(execFile);
const PORT = Number(process.env.TEST_ES_FAULT_PORT ?? 9251);
const nodeEnv = { ...process.env, ES_INSTANCE: 'fault', ES_PORT: String(PORT), ES_HEAP: '256m' };
const elasticsearch = (command: 'start' | 'stop') =>
  run('bash', ['infra/local/elasticsearch.sh', command], { env: nodeEnv, timeout: 200_000 });

async function until(what: string, check: () => Promise<boolean>, attempts = 200, everyMs = 50): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`gave up waiting for: ${what}`);
}

describe('search projection while Elasticsearch is down', () => {
  const prefix = `chitti-fault-${randomBytes(4).toString('hex')}`;
  const client = createElasticsearchClient(`http://127.0.0.1:${PORT}`, { requestTimeoutMs: 30_000 });
  let db: TestDatabase;
  let pool: pg.Pool;
  let store: PostgresEventStore;
  let search: ElasticsearchSearch;
  let projector: SearchProjector;

  beforeAll(async () => {
    await elasticsearch('start');
    db = await createTestDatabase('chitti_search_fault');
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    await migrate(pool);
    store = new PostgresEventStore(pool);
    search = new ElasticsearchSearch(client, { prefix, headPosition: () => store.headPosition() });
    await search.prepare();
    projector = new SearchProjector({
      log: store,
      index: search,
      batchSize: 4,
      idleMs: 50,
      initialBackoffMs: 50,
      maxBackoffMs: 500,
    });
    projector.start();
  }, 240_000);

  afterAll(async () => {
    await projector?.stop();
    await deleteIndicesWithPrefix(client, prefix).catch(() => {});
    await elasticsearch('stop').catch(() => {});
    await client.close();
    await store?.close();
    await pool?.end();
    await db?.drop();
  }, 120_000);

  it('grows lag and reports unavailability while down, then catches up to what a rebuild produces', async () => {
    await appendScenario(store);
    await projector.caughtUpTo(await store.headPosition());
    await search.refresh();
    const before = await search.searchDetections({ limit: 100 });
    expect(before.items).toHaveLength(4);

    await elasticsearch('stop');
    await store.append(
      'inspection-i-down',
      [detectionsRecorded('i-down', '2.0.0', [{ className: 'crack', score: 0.6 }])],
      {
        expectedVersion: 'any',
      },
    );
    await store.append(
      'file-f-bracket',
      [
        {
          type: 'FileTagged',
          data: { fileId: 'f-bracket', added: ['recheck'], removed: [], taggedBy: 'olga' },
          metadata: { actor: 'olga' },
        },
      ],
      { expectedVersion: 'any' },
    );
    const head = await store.headPosition();
    await until('the projector to notice', async () => (await projector.status()).failures >= 2);
    const down = await projector.status();
    expect(down.state).toBe('retrying');
    expect(down.lag).toBe(2);
    expect(down.indexedPosition).toBe(head - 2);
    expect(down.lastError).toMatch(/elasticsearch/);
    await expect(search.searchDetections({ limit: 10 })).rejects.toBeInstanceOf(SearchUnavailableError);

    await elasticsearch('start');
    await projector.caughtUpTo(head);
    const up = await projector.status();
    expect(up).toMatchObject({ lag: 0, failures: 0, lastError: null, indexedPosition: head });
    await search.refresh();
    const live = await search.searchDetections({ limit: 100 });
    expect(live.freshness).toMatchObject({ stale: false, indexedPosition: head });
    expect(live.items).toHaveLength(5);
    expect((await search.searchDetections({ text: 'recheck', limit: 10 })).items).toHaveLength(2);
    const liveAudit = await search.searchAudit({ limit: 100 });

    await projector.stop();
    await rebuildElasticsearchSearch({ client, log: store, prefix, batchSize: 3 });
    const rebuilt = await search.searchDetections({ limit: 100 });
    const rebuiltAudit = await search.searchAudit({ limit: 100 });
    expect(rebuilt.items).toEqual(live.items);
    expect(rebuiltAudit.items).toEqual(liveAudit.items);
    expect(rebuilt.freshness.indexedPosition).toBe(head);
  }, 300_000);
});
