import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readModelProjections } from '../../projections/read-models/index.js';
import { rebuildProjections } from '../../projections/rebuild.js';
import { copyPath, createTableSql, insertRows, qualified, upsertRows } from '../../projections/sql.js';
import { col, defineTable } from '../../projections/table.js';
import { inTransaction } from '../../projections/transaction.js';
import { createLogFixture, type LogFixture, projectToHead, snapshot, viewRows } from './support.js';
import { generateWorkload, writeWorkload } from './workload.js';

let fx: LogFixture;
beforeAll(async () => {
  fx = await createLogFixture(8);
});
afterAll(async () => {
  await fx.close();
});
const defaultMinRows = copyPath.minRows;
afterEach(() => {
  copyPath.minRows = defaultMinRows;
});

/** Every column type the read models use, a composite key, and nullable columns. */
const table = defineTable(
  'copy_probe',
  {
    kind: col.text(),
    n: col.bigint(),
    label: col.text().nullable(),
    count: col.integer(),
    ratio: col.double(),
    flag: col.boolean(),
    doc: col.jsonb(col.text().json).nullable(),
    at: col.timestamptz(),
    day: col.date(),
  },
  { primaryKey: ['kind', 'n'] },
);
type Probe = typeof table.Row;

/** Text that COPY's text format must escape, or could mistake for its own markers. */
const AWKWARD = [
  'tab\there',
  'line\nbreak',
  'cr\rhere',
  'back\\slash',
  '\\N',
  '\\.',
  'quote"s',
  'ünïcödé ✓ 𝄞',
  '',
  ' ',
];

function probeRows(kind: string, count: number, offset = 0): Probe[] {
  return Array.from({ length: count }, (_, i) => ({
    kind,
    n: 9_007_199_254_740_000 + i,
    label: i % 7 === 0 ? null : `${AWKWARD[i % AWKWARD.length]}#${i + offset}`,
    count: -i - offset,
    ratio: i === 0 ? 0 : 1 / (i + 3) + offset,
    flag: i % 2 === 0,
    doc: i % 5 === 0 ? null : { text: AWKWARD[(i + offset) % AWKWARD.length], list: [i, null, 'a\tb'] },
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i + offset)),
    day: `2026-12-${String((i % 28) + 1).padStart(2, '0')}`,
  })) as unknown as Probe[];
}

async function freshTable(name: string): Promise<string> {
  const physical = qualified(name);
  await fx.pool.query('CREATE SCHEMA IF NOT EXISTS read');
  await fx.pool.query(`DROP TABLE IF EXISTS ${physical}`);
  await fx.pool.query(createTableSql(table, physical));
  return physical;
}

/** Writes the same calls once through one statement per call and once through COPY; returns both tables' rows. */
async function bothPaths(write: (physical: string) => Promise<void>): Promise<{ json: string[]; copy: string[] }> {
  copyPath.minRows = Number.POSITIVE_INFINITY;
  await write(await freshTable('copy_probe_json'));
  copyPath.minRows = 1;
  await write(await freshTable('copy_probe_copy'));
  return { json: await viewRows(fx.pool, 'copy_probe_json'), copy: await viewRows(fx.pool, 'copy_probe_copy') };
}

describe('read-model writes by COPY', () => {
  it('store the same values as the one-statement path, awkward text, nulls, jsonb, times and all', async () => {
    const { json, copy } = await bothPaths((physical) =>
      inTransaction(fx.pool, (tx) => insertRows(tx, physical, table, probeRows('a', 300))),
    );
    expect(json).toHaveLength(300);
    expect(copy).toEqual(json);
    // The awkward text came back as written.
    const { rows } = await fx.pool.query(`SELECT label FROM ${qualified('copy_probe_copy')} ORDER BY n`);
    expect(rows.slice(1, 11).map((r) => r.label)).toEqual(
      probeRows('a', 11)
        .slice(1)
        .map((r) => r.label),
    );
  });

  it('refuse text the one-statement path refuses: an unpaired surrogate is not stored as U+FFFD', async () => {
    for (const minRows of [Number.POSITIVE_INFINITY, 1]) {
      copyPath.minRows = minRows;
      const physical = await freshTable('copy_probe_surrogate');
      const rows = probeRows('s', 3);
      rows[1]!.label = 'half \ud800 of a pair';
      await expect(inTransaction(fx.pool, (tx) => insertRows(tx, physical, table, rows))).rejects.toThrow();
      const { rows: stored } = await fx.pool.query(`SELECT count(*)::int AS n FROM ${physical}`);
      expect(stored[0].n).toBe(0);
    }
  });

  it('fail a COPY the server refuses like the statement it replaces, and leave the connection usable', async () => {
    copyPath.minRows = 1;
    const physical = await freshTable('copy_probe_refused');
    const rows = probeRows('r', 100);
    // A repeated key: COPY, like INSERT without ON CONFLICT, refuses the whole batch.
    const refused = inTransaction(fx.pool, (tx) => insertRows(tx, physical, table, [...rows, rows[42]!]));
    await expect(refused).rejects.toMatchObject({ code: '23505' });
    await inTransaction(fx.pool, (tx) => insertRows(tx, physical, table, rows));
    const { rows: stored } = await fx.pool.query(`SELECT count(*)::int AS n FROM ${physical}`);
    expect(stored[0].n).toBe(100);
  });

  it('replace whole rows on upsert and leave stored rows alone on insert-or-ignore, as ON CONFLICT did', async () => {
    const { json, copy } = await bothPaths(async (physical) => {
      await inTransaction(fx.pool, (tx) => insertRows(tx, physical, table, probeRows('b', 120)));
      // Half of these keys are stored: those rows are replaced, the others added.
      await inTransaction(fx.pool, (tx) => upsertRows(tx, physical, table, probeRows('b', 240, 1000).slice(60)));
      // Stored keys are left as they are; a key repeated within the batch keeps its first row.
      const again = probeRows('b', 300, 5000);
      await inTransaction(fx.pool, (tx) =>
        insertRows(tx, physical, table, [...again, ...probeRows('b', 300, 9000)], { ignoreConflicts: true }),
      );
    });
    expect(json).toHaveLength(300);
    expect(copy).toEqual(json);
    const { rows } = await fx.pool.query(
      `SELECT count(*) FILTER (WHERE count <= -5000 AND count > -9000)::int AS late, count(*) FILTER (WHERE count <= -9000)::int AS repeated FROM ${qualified('copy_probe_copy')}`,
    );
    expect(rows[0]).toEqual({ late: 60, repeated: 0 });
  });

  it('rebuild every read model to the rows incremental projection gives, at any batch size', async () => {
    await writeWorkload(fx.store, generateWorkload({ inspections: 120, seed: 7 }));
    copyPath.minRows = Number.POSITIVE_INFINITY;
    await projectToHead(fx, readModelProjections, { batchSize: 7 });
    const incremental = await snapshot(fx.pool, readModelProjections);
    expect(incremental.detections!.length).toBeGreaterThan(100);

    // Everything by COPY, in one batch (every row written once) and in batches whose rows cross
    // batch boundaries (rows stored by an earlier batch replaced, repeats left out).
    copyPath.minRows = 1;
    const names = readModelProjections.map((p) => p.name);
    for (const batchSize of [5000, 37]) {
      await rebuildProjections(fx.pool, fx.store, names, { batchSize });
      expect(await snapshot(fx.pool, readModelProjections)).toEqual(incremental);
    }
  }, 240_000);
});
