/**
 * Projection rebuild throughput: events/s replayed from the global log into every read model,
 * beside raw baselines measured in the same run (the finished rows written into bare tables by
 * multi-row INSERTs, and by COPY, with no log reads, decoding or read-model logic), and beside the
 * same replay writing through one json_to_recordset statement per table and batch (A/B).
 *
 *   node --import tsx bench/projections.ts [inspections=5000] [batch=20000]   (BENCH_ROUNDS, default 2)
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
import { DEFAULT_REBUILD_BATCH, rebuildProjection, rebuildProjections } from '../projections/rebuild.js';
import { copyPath, copyRows } from '../projections/sql.js';
import type { Columns, Table } from '../projections/table.js';
import { generateWorkload } from '../test/projections/workload.js';
import { createTestDatabase } from '../test/support/pg.js';
import { runIfMain } from './support.js';

let BATCH = DEFAULT_REBUILD_BATCH;
const defaultCopyRows = copyPath.minRows;

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

/** Rows per statement of the bare-INSERT baseline (the batch size its earlier figures used). */
const RAW_BATCH = 5000;

/**
 * The floors: write exactly the rows the rebuild produced (every read-model table) into tables
 * with only their primary key — no log read, no decoding, no folding, no upserts, no secondary
 * indexes — once by bare multi-row INSERTs of 5000 rows (json_to_recordset), once by one bare COPY
 * per table (the same encoder the rebuild uses, rows already typed in memory).
 */
async function rawBaselines(pool: pg.Pool): Promise<{ rows: number; insertSeconds: number; copySeconds: number }> {
  let rows = 0;
  let insertSeconds = 0;
  let copySeconds = 0;
  for (const projection of readModelProjections) {
    for (const table of projection.tables as readonly Table<Columns>[]) {
      const { rows: data } = await pool.query(`SELECT * FROM read.${table.name}`);
      const typed = data.map((row) => table.read(row));
      for (const kind of ['insert', 'copy'] as const) {
        const copy = `bench_${kind}_${table.name}`;
        await pool.query(`CREATE TABLE ${copy} (LIKE read.${table.name})`);
        await pool.query(`ALTER TABLE ${copy} ADD PRIMARY KEY (${table.primaryKey.join(', ')})`);
        const names = table.columns.map((c) => c.name).join(', ');
        const types = table.columns.map((c) => `${c.name} ${c.type}`).join(', ');
        const started = performance.now();
        if (kind === 'insert') {
          for (let from = 0; from < data.length; from += RAW_BATCH) {
            await pool.query(
              `INSERT INTO ${copy} (${names}) SELECT ${names} FROM json_to_recordset($1::json) AS x(${types})`,
              [JSON.stringify(data.slice(from, from + RAW_BATCH))],
            );
          }
          insertSeconds += (performance.now() - started) / 1000;
        } else {
          const client = await pool.connect();
          try {
            await copyRows(client, copy, table, typed);
          } finally {
            client.release();
          }
          copySeconds += (performance.now() - started) / 1000;
        }
      }
      rows += data.length;
    }
  }
  return { rows, insertSeconds, copySeconds };
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const inspections = Number(argv[0] ?? 5000);
  BATCH = Number(argv[1] ?? DEFAULT_REBUILD_BATCH);
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
    // All models together from one read of the log, as `projections rebuild --all` does: the
    // writes by COPY (the default) and, alternating in the same minutes, by one json_to_recordset
    // statement per table and batch (the path before COPY), so load changes hit both alike.
    const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
    const seconds = { copy: 0, json: 0 };
    for (let round = 0; round < rounds; round++) {
      for (const path of round % 2 === 0 ? (['json', 'copy'] as const) : (['copy', 'json'] as const)) {
        copyPath.minRows = path === 'copy' ? defaultCopyRows : Number.POSITIVE_INFINITY;
        const started = performance.now();
        await rebuildProjections(
          pool,
          store,
          readModelProjections.map((p) => p.name),
          { batchSize: BATCH },
        );
        const taken = (performance.now() - started) / 1000;
        seconds[path] += taken;
        console.log(
          `  round ${round + 1}, ${path === 'copy' ? 'COPY' : 'json_to_recordset'}: ${Math.round(events / taken)} events/s`,
        );
      }
    }
    copyPath.minRows = defaultCopyRows;
    const allSeconds = seconds.copy / rounds;
    const allRate = events / allSeconds;
    const jsonRate = events / (seconds.json / rounds);
    const raw = await rawBaselines(pool);

    for (const [name, rate] of Object.entries(alone))
      console.log(`  ${name.padEnd(18)} ${Math.round(rate)} events/s alone`);
    const sequential = events / Object.values(alone).reduce((sum, rate) => sum + events / rate, 0);
    console.log(`all read models, one after another: ${Math.round(sequential)} events/s of log`);
    console.log(
      `all read models, one shared replay:  ${Math.round(allRate)} events/s of log (${allSeconds.toFixed(2)} s, mean of ${rounds})`,
    );
    console.log(
      `raw baseline: the same ${raw.rows} read-model rows by bare INSERTs in ${raw.insertSeconds.toFixed(2)} s = ${Math.round(events / raw.insertSeconds)} events/s equivalent`,
    );
    console.log(
      `raw baseline: the same rows by one bare COPY per table in ${raw.copySeconds.toFixed(2)} s = ${Math.round(events / raw.copySeconds)} events/s equivalent`,
    );
    console.log(
      `same replay with one json_to_recordset statement per table and batch: ${Math.round(jsonRate)} events/s (COPY / json ${(allRate / jsonRate).toFixed(2)})`,
    );
    console.log(
      `ratio shared-replay rebuild / bare INSERTs: ${(raw.insertSeconds / allSeconds).toFixed(2)}; / bare COPY: ${(raw.copySeconds / allSeconds).toFixed(2)}`,
    );
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
