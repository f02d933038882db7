import type pg from 'pg';
import type { Projection, TableNames } from './projection.js';
import { createIndexSql, createTableSql, ident, qualified, READ_SCHEMA, type Tx } from './sql.js';
import { inTransaction } from './transaction.js';

/**
 * Each projection's tables exist in generations: `read.<table>__g<n>`. Readers query the stable
 * views `read.<table>`, which point at the live generation; a rebuild fills generation n+1 and
 * re-points the views and the checkpoint in one transaction.
 */
export const CHECKPOINTS = qualified('projection_checkpoints');

export interface Checkpoint {
  readonly name: string;
  readonly version: number;
  readonly generation: number;
  readonly position: number;
}

export const physicalTable = (table: string, generation: number): string => qualified(`${table}__g${generation}`);

export const tableNamesOf =
  (projection: Projection, generation: number): TableNames =>
  (logical) => {
    if (!projection.tables.some((t) => t.name === logical)) {
      throw new Error(`projection ${projection.name} has no table ${logical}`);
    }
    return physicalTable(logical, generation);
  };

// One lock id for schema set-up so several processes starting at once do not race on DDL.
const SETUP_LOCK = 0x63686974; // 'chit'

export async function ensureReadSchema(tx: Tx): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [SETUP_LOCK]);
  await tx.query(`CREATE SCHEMA IF NOT EXISTS ${ident(READ_SCHEMA)}`);
  await tx.query(`CREATE TABLE IF NOT EXISTS ${CHECKPOINTS} (
    name text PRIMARY KEY,
    version integer NOT NULL,
    generation integer NOT NULL,
    position bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`);
}

const toCheckpoint = (row: Record<string, unknown>): Checkpoint => ({
  name: String(row.name),
  version: Number(row.version),
  generation: Number(row.generation),
  position: Number(row.position),
});

export async function readCheckpoint(
  tx: Tx,
  name: string,
  options: { lock?: boolean } = {},
): Promise<Checkpoint | undefined> {
  const { rows } = await tx.query(
    `SELECT name, version, generation, position FROM ${CHECKPOINTS} WHERE name = $1${options.lock ? ' FOR UPDATE' : ''}`,
    [name],
  );
  return rows[0] ? toCheckpoint(rows[0]) : undefined;
}

export async function readCheckpoints(db: Tx | pg.Pool): Promise<Checkpoint[]> {
  const { rows } = await db.query(`SELECT name, version, generation, position FROM ${CHECKPOINTS} ORDER BY name`);
  return rows.map(toCheckpoint);
}

/** Drops any leftover of this generation (a crashed rebuild) and creates its empty tables. */
export async function createGeneration(
  tx: Tx,
  projection: Projection,
  generation: number,
  options: { indexes: boolean } = { indexes: true },
): Promise<void> {
  await dropGeneration(tx, projection, generation);
  for (const table of projection.tables) await tx.query(createTableSql(table, physicalTable(table.name, generation)));
  if (options.indexes) await createIndexes(tx, projection, generation);
}

export async function createIndexes(tx: Tx, projection: Projection, generation: number): Promise<void> {
  for (const table of projection.tables) {
    for (const sql of createIndexSql(table, physicalTable(table.name, generation))) await tx.query(sql);
  }
}

export async function dropGeneration(tx: Tx, projection: Projection, generation: number): Promise<void> {
  for (const table of projection.tables)
    await tx.query(`DROP TABLE IF EXISTS ${physicalTable(table.name, generation)}`);
}

/** Re-points `read.<table>` at a generation; readers see the old or the new one, never a mix. */
export async function pointViews(tx: Tx, projection: Projection, generation: number): Promise<void> {
  for (const table of projection.tables) {
    const view = qualified(table.name);
    const target = physicalTable(table.name, generation);
    // Same columns: replace in place (readers keep the view's identity). Changed columns: recreate.
    await tx.query('SAVEPOINT point_view');
    try {
      await tx.query(`CREATE OR REPLACE VIEW ${view} AS SELECT * FROM ${target}`);
      await tx.query('RELEASE SAVEPOINT point_view');
    } catch {
      await tx.query('ROLLBACK TO SAVEPOINT point_view');
      await tx.query(`DROP VIEW IF EXISTS ${view}`);
      await tx.query(`CREATE VIEW ${view} AS SELECT * FROM ${target}`);
    }
  }
}

/** Creates the checkpoint and generation 1 the first time a projection is seen; returns its checkpoint. */
export async function ensureProjection(pool: pg.Pool, projection: Projection): Promise<Checkpoint> {
  return inTransaction(pool, async (tx) => {
    await ensureReadSchema(tx);
    const checkpoint = await readCheckpoint(tx, projection.name, { lock: true });
    if (checkpoint) return checkpoint;
    await createGeneration(tx, projection, 1);
    await pointViews(tx, projection, 1);
    await tx.query(`INSERT INTO ${CHECKPOINTS} (name, version, generation, position) VALUES ($1, $2, 1, 0)`, [
      projection.name,
      projection.version,
    ]);
    return { name: projection.name, version: projection.version, generation: 1, position: 0 };
  });
}
