import type pg from 'pg';
import type { ColumnSpec, Columns, RowOf, Table, TableSpec } from './table.js';

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
  const updates = spec.columns
    .filter((c) => !spec.primaryKey.includes(c.name))
    .map((c) => `${ident(c.name)} = EXCLUDED.${ident(c.name)}`);
  const sql = `${insertSelect(table, spec.columns)} ON CONFLICT (${spec.primaryKey.map(ident).join(', ')}) DO UPDATE SET ${updates.join(', ')}`;
  await tx.query(sql, [JSON.stringify(rows)]);
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
