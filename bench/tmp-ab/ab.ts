import { loadavg } from 'node:os';
import pg from 'pg';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { readModelProjections } from '../../projections/read-models/index.js';
import { rebuildProjections } from '../../projections/rebuild.js';
import { generateWorkload, writeWorkload } from '../../test/projections/workload.js';
import { createTestDatabase } from '../../test/support/pg.js';

const db = await createTestDatabase('chitti_ab');
const pool = new pg.Pool({ connectionString: db.url, max: 12 });
pool.on('error', () => {});
const store = new PostgresEventStore(pool);
await migrate(pool);
await writeWorkload(store, generateWorkload({ inspections: Number(process.argv[2] ?? 1500), seed: 3 }));
const events = await store.headPosition();
const names = readModelProjections.map((p) => p.name);
const variants: Record<string, object> = JSON.parse(
  process.argv[3] ?? '{"logged":{"unlogged":false},"unlogged":{"unlogged":true}}',
);
const times: Record<string, number[]> = {};
for (let round = 0; round < 3; round++) {
  for (const [name, opts] of Object.entries(variants)) {
    const t = performance.now();
    await rebuildProjections(pool, store, names, opts);
    (times[name] ??= []).push((performance.now() - t) / 1000);
  }
}
for (const [name, list] of Object.entries(times))
  console.log(name, list.map((s) => Math.round(events / s)).join(' '), 'ev/s');
console.log(
  'events',
  events,
  'load',
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' '),
);
await store.close();
await pool.end();
await db.drop();
