import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateEverything } from '../../cli/migrations.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { registerLogHealthMetrics } from '../../infra/postgres/log-health-metrics.js';
import { Sealer } from '../../infra/postgres/sealer.js';
import { generateSealSigningKey } from '../../infra/sealing/seal-keys.js';
import { generateWriterKey, writerKeyRing } from '../../infra/sealing/writer-keys.js';
import { generateWorkload, writeWorkload } from '../projections/workload.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('chitti_health');
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  await migrateEverything(pool);
});

afterAll(async () => {
  await pool.end();
  await db.drop();
});

const value = (text: string, metric: string) => Number(new RegExp(`^${metric} (\\S+)$`, 'm').exec(text)?.[1]);

describe('log health metrics (relay lag, seal lag and age) read at scrape time', () => {
  it('reports head minus the relay checkpoint and the unsealed tail, and 0 once all is sealed', async () => {
    const writerKeys = writerKeyRing([generateWriterKey()]);
    const store = new PostgresEventStore(pool, { writerKeys });
    await writeWorkload(store, generateWorkload({ inspections: 3, seed: 1 }));
    const sealer = new Sealer(pool, { signingKey: generateSealSigningKey(), store, rangeSize: 1000, writerKeys });
    // The first seal records its key (SealKeyActivated): an event of its own, so take the head after it.
    await sealer.sealUpTo(1);
    const head = await store.headPosition();
    await pool.query("INSERT INTO kafka_integration.relay_checkpoints (relay, position) VALUES ('relay-a', $1)", [
      head - 5,
    ]);
    await sealer.sealUpTo(head - 2);
    await pool.query("UPDATE seals SET sealed_at = now() - interval '10 minutes'");

    const registry = new Registry();
    registerLogHealthMetrics(registry, pool);
    const text = await registry.metrics();
    expect(value(text, 'chitti_relay_lag_events\\{relay="relay-a"\\}')).toBe(5);
    expect(value(text, 'chitti_unsealed_events')).toBe(2);
    expect(value(text, 'chitti_seal_age_seconds')).toBeGreaterThanOrEqual(600);

    await sealer.sealUpTo();
    const after = await registry.metrics();
    expect(value(after, 'chitti_unsealed_events')).toBe(0);
    expect(value(after, 'chitti_seal_age_seconds')).toBe(0);
    await store.close();
  });
});
