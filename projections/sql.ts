import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { ColumnSpec, Columns, ColumnType, RowOf, Table, TableSpec } from './table.js';

export type { ColumnSpec, ColumnType, TableSpec } from './table.js';

/** What a projection writes through: one open transaction on one connection. */
export type Tx = pg.ClientBase;

export type Row = Record<string, unknown>;

export const READ_SCHEMA = 'read';

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** Only our own fixed names ever become identifiers; anything else is a programming error. */
export function ident(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`not a safe SQL identifier: ${name}`);
  return `"${name}"`;
}

export const qualified = (name: string): string => `${ident(READ_SCHEMA)}.${ident(name)}`;

export function createTableSql(spec: TableSpec, physical: string): string {
  const columns = spec.columns.map((c) => `${ident(c.name)} ${c.type}${c.nullable ? '' : ' NOT NULL'}`);
  columns.push(`PRIMARY KEY (${spec.primaryKey.map(ident).join(', ')})`);
  return `CREATE TABLE ${physical} (${columns.join(', ')})`;
}

/** Secondary indexes: a rebuild creates them after the bulk load, which is much cheaper than maintaining them. */
export const createIndexSql = (spec: TableSpec, physical: string): string[] =>
  (spec.indexes ?? []).map((index) => `CREATE INDEX ON ${physical} ${index}`);

/**
 * One statement for all rows: the rows travel as one JSON parameter and `json_to_recordset` turns
 * them back into typed columns — far cheaper on both ends than one SQL array literal per column.
 * Keys the column list does not name are ignored; missing keys are NULL.
 */
function insertSelect(table: string, columns: readonly ColumnSpec[]): string {
  const names = columns.map((c) => ident(c.name)).join(', ');
  const types = columns.map((c) => `${ident(c.name)} ${c.type}`).join(', ');
  return `INSERT INTO ${table} AS t (${names}) SELECT ${names} FROM json_to_recordset($1::json) AS x(${types})`;
}

export async function insertRows<C extends Columns>(
  tx: Tx,
  table: string,
  spec: Table<C>,
  rows: readonly RowOf<C>[],
  options: { ignoreConflicts?: boolean } = {},
): Promise<void> {
  if (rows.length === 0) return;
  if (rows.length >= copyPath.minRows && copyable(spec)) {
    if (!options.ignoreConflicts) return copyRows(tx, table, spec, rows);
    // ON CONFLICT DO NOTHING, which COPY cannot do: keys already stored, and repeats within the batch, stay out.
    const seen = await existingKeys(tx, table, spec, rows);
    const fresh = rows.filter((row) => {
      const key = keyOf(spec, row);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    return copyRows(tx, table, spec, fresh);
  }
  const conflict = options.ignoreConflicts ? ' ON CONFLICT DO NOTHING' : '';
  await tx.query(insertSelect(table, spec.columns) + conflict, [JSON.stringify(rows)]);
}

/** Insert or replace whole rows; the rows must have distinct keys. */
export async function upsertRows<C extends Columns>(
  tx: Tx,
  table: string,
  spec: Table<C>,
  rows: readonly RowOf<C>[],
): Promise<void> {
  if (rows.length === 0) return;
  if (rows.length >= copyPath.minRows && copyable(spec)) {
    // Replacing a whole row is deleting the stored one and writing the new one. In a rebuild's
    // fresh generation almost no key is stored yet, so nearly every row is written once, by COPY.
    await deleteKeys(tx, table, spec, rows);
    return copyRows(tx, table, spec, rows);
  }
  const updates = spec.columns
    .filter((c) => !spec.primaryKey.includes(c.name))
    .map((c) => `${ident(c.name)} = EXCLUDED.${ident(c.name)}`);
  const sql = `${insertSelect(table, spec.columns)} ON CONFLICT (${spec.primaryKey.map(ident).join(', ')}) DO UPDATE SET ${updates.join(', ')}`;
  await tx.query(sql, [JSON.stringify(rows)]);
}

/**
 * From `minRows` rows on, `insertRows` and `upsertRows` write with `COPY ... FROM STDIN` (after one
 * statement over the keys already stored) instead of one `json_to_recordset` statement: PostgreSQL
 * takes COPY's text rows for about half the CPU of a JSON document of the same rows
 * (docs/benchmarks.md). Below it, the single statement costs fewer round trips. Rebuild and
 * catch-up batches take the COPY path, live batches of a few events do not; the rows are the same.
 * Mutable for benchmarks and tests that compare both paths (`Infinity` turns COPY off).
 */
export const copyPath = { minRows: 64 };

/** Key columns the probe compares as text (every read-model key is text or an integer). */
const KEY_TYPES: ReadonlySet<ColumnType> = new Set(['text', 'bigint', 'integer']);
const copyable = (spec: TableSpec): boolean =>
  spec.primaryKey.every((k) => KEY_TYPES.has(spec.columns.find((c) => c.name === k)?.type ?? 'jsonb'));

function keyOf(spec: TableSpec, row: Readonly<Record<string, unknown>>): string {
  if (spec.primaryKey.length === 1) return String(row[spec.primaryKey[0]!]);
  let key = '';
  for (const k of spec.primaryKey) key += `${String(row[k])}\u0000`;
  return key;
}

/** The rows' keys as one array parameter per key column, joined to the table on every key column. */
function keyJoin(spec: TableSpec, rows: readonly Readonly<Record<string, unknown>>[]) {
  const keys = spec.primaryKey.map((k) => spec.columns.find((c) => c.name === k)!);
  return {
    from: `unnest(${keys.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ')}) AS k(${keys.map((c) => ident(c.name)).join(', ')})`,
    on: keys.map((c) => `t.${ident(c.name)} = k.${ident(c.name)}`).join(' AND '),
    values: keys.map((c) => rows.map((row) => String(row[c.name]))),
  };
}

async function existingKeys(
  tx: Tx,
  table: string,
  spec: TableSpec,
  rows: readonly Readonly<Record<string, unknown>>[],
): Promise<Set<string>> {
  const join = keyJoin(spec, rows);
  const columns = spec.primaryKey.map((k) => `t.${ident(k)}::text AS ${ident(k)}`).join(', ');
  const { rows: found } = await tx.query(
    `SELECT ${columns} FROM ${table} AS t JOIN ${join.from} ON ${join.on}`,
    join.values,
  );
  return new Set(found.map((row: Row) => keyOf(spec, row)));
}

async function deleteKeys(
  tx: Tx,
  table: string,
  spec: TableSpec,
  rows: readonly Readonly<Record<string, unknown>>[],
): Promise<void> {
  const join = keyJoin(spec, rows);
  await tx.query(`DELETE FROM ${table} AS t USING ${join.from} WHERE ${join.on}`, join.values);
}

/** COPY's text format: backslash, tab, newline and carriage return are escaped; `\N` is NULL. */
const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIALS = /[\\\t\n\r]/g;
const COPY_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
function copyText(text: string): string {
  // UTF-8 encoding would quietly turn an unpaired surrogate into U+FFFD; the JSON path refuses it.
  if (!(text as unknown as { isWellFormed(): boolean }).isWellFormed()) {
    throw new TypeError('text with an unpaired UTF-16 surrogate cannot be stored');
  }
  return COPY_SPECIAL.test(text) ? text.replace(COPY_SPECIALS, (c) => COPY_ESCAPES[c]!) : text;
}

/** A non-null value to its COPY text: what json_to_recordset would have made of its JSON. */
const CELL: Readonly<Record<ColumnType, (value: unknown) => string>> = {
  text: (v) => copyText(String(v)),
  bigint: String,
  integer: String,
  'double precision': String,
  boolean: (v) => (v ? 't' : 'f'),
  jsonb: (v) => copyText(JSON.stringify(v)),
  timestamptz: (v) => (v instanceof Date ? v.toISOString() : copyText(String(v))),
  date: (v) => copyText(String(v)),
};

/** Rows per write to the COPY stream: bounded strings. */
const COPY_CHUNK_ROWS = 2000;

/** Writes rows with one `COPY ... FROM STDIN` (text format): the columns the spec names, nothing else. */
export async function copyRows(
  tx: Tx,
  table: string,
  spec: TableSpec,
  rows: readonly Readonly<Record<string, unknown>>[],
): Promise<void> {
  if (rows.length === 0) return;
  const names = spec.columns.map((c) => c.name);
  const cells = spec.columns.map((c) => CELL[c.type]);
  const last = names.length - 1;
  // Encoded in full before COPY starts: a value that cannot be encoded throws here, on a connection
  // still able to roll back, not halfway through a COPY that would leave it waiting for data.
  const chunks: string[] = [];
  for (let from = 0; from < rows.length; from += COPY_CHUNK_ROWS) {
    let chunk = '';
    const end = Math.min(rows.length, from + COPY_CHUNK_ROWS);
    for (let r = from; r < end; r++) {
      const row = rows[r]!;
      for (let i = 0; i <= last; i++) {
        const value = row[names[i]!];
        chunk += value == null ? '\\N' : cells[i]!(value);
        chunk += i === last ? '\n' : '\t';
      }
    }
    chunks.push(chunk);
  }
  const stream = tx.query(copyFrom(`COPY ${table} (${names.map(ident).join(', ')}) FROM STDIN`));
  const done = finished(stream);
  for (const chunk of chunks) {
    if (!stream.write(chunk)) await new Promise((resolve) => stream.once('drain', resolve));
  }
  stream.end();
  await done;
}

/** Insert or add to counters: every non-key column named in `counters` is summed with the stored value. */
export async function addToCounters<C extends Columns, K extends keyof C & string>(
  tx: Tx,
  table: string,
  spec: Table<C>,
  counters: readonly K[],
  rows: readonly Pick<RowOf<C>, K | (typeof spec.primaryKey)[number]>[],
): Promise<void> {
  if (rows.length === 0) return;
  const names: readonly string[] = counters;
  const columns = spec.columns.filter((c) => spec.primaryKey.includes(c.name) || names.includes(c.name));
  const updates = counters.map((c) => `${ident(c)} = t.${ident(c)} + EXCLUDED.${ident(c)}`);
  const sql = `${insertSelect(table, columns)} ON CONFLICT (${spec.primaryKey.map(ident).join(', ')}) DO UPDATE SET ${updates.join(', ')}`;
  await tx.query(sql, [JSON.stringify(rows)]);
}

/** Rows whose single-column key is among `keys`, by key, read into typed rows. */
export async function loadRows<C extends Columns>(
  tx: Tx,
  table: string,
  spec: Table<C>,
  keyColumn: keyof C & string,
  keys: Iterable<string>,
): Promise<Map<string, RowOf<C>>> {
  const wanted = [...new Set(keys)];
  const found = new Map<string, RowOf<C>>();
  if (wanted.length === 0) return found;
  const { rows } = await tx.query(`SELECT * FROM ${table} WHERE ${ident(keyColumn)} = ANY($1::text[])`, [wanted]);
  for (const row of rows as Row[]) found.set(String(row[keyColumn]), spec.read(row));
  return found;
}
