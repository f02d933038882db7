/**
 * Projection rebuild throughput: events/s replayed from the global log into every read model,
 * beside a raw baseline measured in the same run (one multi-row INSERT per batch of the audit
 * rows into a bare table, with no log reads, decoding or read-model logic).
 *
 *   node --import tsx bench/projections.ts [inspections=5000] [batch=5000]
 *
 * Uses its own throw-away database on the test server. The log is seeded by bulk SQL (the
 * projections never look at hashes, so those are placeholders); the workload is the realistic
 * generated history the tests use (~8 events per inspection).
 */

import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import pg from 'pg';
import { PostgresEventStore } from '../infra/postgres/event-store.js';
import { migrate } from '../infra/postgres/migrate.js';
import { readModelProjections } from '../projections/read-models/index.js';
import { rebuildProjection, rebuildProjections } from '../projections/rebuild.js';
import { generateWorkload } from '../test/projections/workload.js';
import { createTestDatabase } from '../test/support/pg.js';
import { runIfMain } from './support.js';

let BATCH = 5000;

export async function seed(pool: pg.Pool, inspections: number): Promise<number> {
  const versions = new Map<string, number>();
  const start = Date.parse('2026-10-01T00:00:00Z');
  const rows: unknown[][] = [[], [], [], [], [], [], [], [], []];
  let position = 0;
  for (const append of generateWorkload({ inspections, seed: 3 })) {
    for (const event of append.events) {
      position++;
      const version = (versions.get(append.streamId) ?? 0) + 1;
      versions.set(append.streamId, version);
      const values = [
        position,
        append.streamId,
        version,
        randomUUID(),
        event.type,
        event.type === 'InspectionRequested' ? 2 : 1,
        JSON.stringify(event.data),
        JSON.stringify(event.metadata),
        // ~50 days of history, so the daily statistics have many days
        new Date(start + position * 60_000),
      ];
      values.forEach((v, i) => {
        rows[i]!.push(v);
      });
    }
  }
  for (let from = 0; from < position; from += 10_000) {
    const slice = rows.map((column) => column.slice(from, from + 10_000));
    await pool.query(
      `INSERT INTO events (global_position, stream_id, stream_version, event_id, type, schema_version, data, metadata, recorded_at, hash)
       SELECT p, s, v, e, t, sv, d, m, r, repeat('0', 64)
         FROM unnest($1::bigint[], $2::text[], $3::int[], $4::uuid[], $5::text[], $6::int[], $7::jsonb[], $8::jsonb[], $9::timestamptz[])
           AS x(p, s, v, e, t, sv, d, m, r)`,
      slice,
    );
  }
  await pool.query('UPDATE event_log_head SET position = $1', [position]);
  await pool.query('ANALYZE events');
  return position;
}

/**
 * The floor: write exactly the rows the rebuild produced (every read-model table), by bare
 * multi-row INSERTs of the same batch size into tables with only their primary key — no log
 * read, no decoding, no folding, no upserts, no secondary indexes.
 */
async function rawBaseline(pool: pg.Pool): Promise<{ rows: number; seconds: number }> {
  let rows = 0;
  let seconds = 0;
  for (const projection of readModelProjections) {
    for (const table of projection.tables) {
      const copy = `bench_raw_${table.name}`;
      await pool.query(`CREATE TABLE ${copy} (LIKE read.${table.name})`);
      await pool.query(`ALTER TABLE ${copy} ADD PRIMARY KEY (${table.primaryKey.join(', ')})`);
      const { rows: data } = await pool.query(`SELECT * FROM read.${table.name}`);
      const names = table.columns.map((c) => c.name).join(', ');
      const types = table.columns.map((c) => `${c.name} ${c.type}`).join(', ');
      const started = performance.now();
      for (let from = 0; from < data.length; from += BATCH) {
        await pool.query(
          `INSERT INTO ${copy} (${names}) SELECT ${names} FROM json_to_recordset($1::json) AS x(${types})`,
          [JSON.stringify(data.slice(from, from + BATCH))],
        );
      }
      seconds += (performance.now() - started) / 1000;
      rows += data.length;
    }
  }
  return { rows, seconds };
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const inspections = Number(argv[0] ?? 5000);
  BATCH = Number(argv[1] ?? 5000);
  if (!Number.isSafeInteger(BATCH) || BATCH < 1 || BATCH > 20_000)
    throw new Error('batch must be an integer in 1..20000');
  if (!Number.isSafeInteger(inspections) || inspections < 1 || inspections > 100_000) {
    throw new Error('inspections must be an integer in 1..100000');
  }
  const db = await createTestDatabase('chitti_bench');
  const pool = new pg.Pool({ connectionString: db.url, max: 12 });
  pool.on('error', () => {});
  const store = new PostgresEventStore(pool);
  try {
    await migrate(pool);
    const events = await seed(pool, inspections);
    console.log(`log: ${events} events (${inspections} inspections), batch ${BATCH}`);
    console.log(
      `machine: ${cpus().length} cores, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} at start`,
    );

    // Each model alone, one after the other.
    const alone: Record<string, number> = {};
    for (const p of readModelProjections) {
      const result = await rebuildProjection(pool, store, p.name, { batchSize: BATCH });
      alone[p.name] = events / (result.durationMs / 1000);
    }
    // All models together from one read of the log, as `projections rebuild --all` does.
    const started = performance.now();
    await rebuildProjections(
      pool,
      store,
      readModelProjections.map((p) => p.name),
      { batchSize: BATCH },
    );
    const allSeconds = (performance.now() - started) / 1000;
    const allRate = events / allSeconds;
    const raw = await rawBaseline(pool);

    for (const [name, rate] of Object.entries(alone))
      console.log(`  ${name.padEnd(18)} ${Math.round(rate)} events/s alone`);
    const sequential = events / Object.values(alone).reduce((sum, rate) => sum + events / rate, 0);
    console.log(`all read models, one after another: ${Math.round(sequential)} events/s of log`);
    console.log(
      `all read models, one shared replay:  ${Math.round(allRate)} events/s of log (${allSeconds.toFixed(2)} s)`,
    );
    console.log(
      `raw baseline: the same ${raw.rows} read-model rows by bare INSERTs in ${raw.seconds.toFixed(2)} s = ${Math.round(events / raw.seconds)} events/s equivalent`,
    );
    console.log(`ratio shared-replay rebuild / raw baseline: ${(raw.seconds / allSeconds).toFixed(2)}`);
    console.log(`goal >= 50000 events/s: ${allRate >= 50_000 ? 'met' : 'not met'}`);
    console.log(
      `load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} at the end`,
    );
  } finally {
    await store.close();
    await pool.end();
    await db.drop();
  }
}

runIfMain(import.meta.url, main);
