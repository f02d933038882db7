import pg from 'pg';
import type { RecordedEvent } from '../../schemas/events/index.js';
import { decodeStored } from '../../schemas/events/registry.js';
import { ident, qualified, READ_SCHEMA, type Tx } from '../sql.js';

/**
 * The blob eraser's own state in schema `read`, derived from the event log only (never from a
 * read model that may lag): which live file references which blob, which blobs wait for erasure,
 * and how far each reactor has read the log.
 */
export const REACTOR_CHECKPOINTS = qualified('reactor_checkpoints');
export const BLOB_REFERENCES = qualified('blob_references');
export const PENDING_ERASURES = qualified('blob_pending_erasures');

// Shared with the projection set-up (generations.ts) so all DDL in schema `read` is serialised.
const SETUP_LOCK = 0x63686974; // 'chit'

export async function ensureReactorTables(tx: Tx): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [SETUP_LOCK]);
  await tx.query(`CREATE SCHEMA IF NOT EXISTS ${ident(READ_SCHEMA)}`);
  await tx.query(`CREATE TABLE IF NOT EXISTS ${REACTOR_CHECKPOINTS} (
    name text PRIMARY KEY,
    position bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`);
  await tx.query(`CREATE TABLE IF NOT EXISTS ${BLOB_REFERENCES} (
    file_id text PRIMARY KEY,
    sha256 text NOT NULL
  )`);
  await tx.query(`CREATE INDEX IF NOT EXISTS blob_references_sha256 ON ${BLOB_REFERENCES} (sha256)`);
  await tx.query(`CREATE TABLE IF NOT EXISTS ${PENDING_ERASURES} (
    sha256 text PRIMARY KEY,
    due_at timestamptz NOT NULL,
    deleted_position bigint NOT NULL
  )`);
  await tx.query(`CREATE INDEX IF NOT EXISTS blob_pending_erasures_due ON ${PENDING_ERASURES} (due_at)`);
}

/** What one file event does to the blob references. */
export type ReferenceChange =
  | { readonly kind: 'referenced'; readonly fileId: string; readonly sha256: string }
  | {
      readonly kind: 'released';
      readonly fileId: string;
      readonly sha256: string;
      readonly position: number;
      readonly recordedAt: Date;
    };

const FILE_EVENTS = new Set(['FileUploaded', 'FileDeleted']);

/** Pure: the reference changes a batch of the log makes, in log order; other events are ignored. */
export function referenceChanges(events: readonly RecordedEvent[]): ReferenceChange[] {
  const changes: ReferenceChange[] = [];
  for (const event of events) {
    if (!FILE_EVENTS.has(event.type)) continue;
    const decoded = decodeStored(event);
    if (decoded.type === 'FileUploaded') {
      changes.push({ kind: 'referenced', fileId: decoded.data.fileId, sha256: decoded.data.sha256 });
    } else if (decoded.type === 'FileDeleted') {
      changes.push({
        kind: 'released',
        fileId: decoded.data.fileId,
        sha256: decoded.data.sha256,
        position: event.globalPosition,
        recordedAt: event.recordedAt,
      });
    }
  }
  return changes;
}

/**
 * Applies the changes inside the caller's transaction. References are kept per file id rather than
 * as a bare counter, so a replayed or repeated event cannot count a file twice. A blob whose last
 * live reference goes away is queued for erasure once `graceMs` have passed since the deletion;
 * a later upload of the same bytes takes it off the queue.
 */
export async function applyReferenceChanges(
  tx: Tx,
  changes: readonly ReferenceChange[],
  graceMs: number,
): Promise<void> {
  for (const change of changes) {
    if (change.kind === 'referenced') {
      await tx.query(`INSERT INTO ${BLOB_REFERENCES} (file_id, sha256) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
        change.fileId,
        change.sha256,
      ]);
      await tx.query(`DELETE FROM ${PENDING_ERASURES} WHERE sha256 = $1`, [change.sha256]);
      continue;
    }
    await tx.query(`DELETE FROM ${BLOB_REFERENCES} WHERE file_id = $1`, [change.fileId]);
    if ((await liveReferences(tx, change.sha256)) > 0) continue;
    const dueAt = new Date(change.recordedAt.getTime() + graceMs);
    await tx.query(
      `INSERT INTO ${PENDING_ERASURES} (sha256, due_at, deleted_position) VALUES ($1, $2, $3)
       ON CONFLICT (sha256) DO UPDATE SET due_at = EXCLUDED.due_at, deleted_position = EXCLUDED.deleted_position`,
      [change.sha256, dueAt, change.position],
    );
  }
}

export async function liveReferences(tx: Tx, sha256: string): Promise<number> {
  const { rows } = await tx.query<{ n: string }>(`SELECT count(*) AS n FROM ${BLOB_REFERENCES} WHERE sha256 = $1`, [
    sha256,
  ]);
  return Number(rows[0]?.n ?? 0);
}

/** Creates the reactor's checkpoint at 0 the first time; returns where it stands. */
export async function ensureReactorCheckpoint(tx: Tx, name: string): Promise<number> {
  await tx.query(`INSERT INTO ${REACTOR_CHECKPOINTS} (name, position) VALUES ($1, 0) ON CONFLICT DO NOTHING`, [name]);
  return (await readReactorCheckpoint(tx, name)) ?? 0;
}

export async function readReactorCheckpoint(
  tx: Tx,
  name: string,
  options: { lock?: boolean } = {},
): Promise<number | undefined> {
  const { rows } = await tx.query<{ position: string }>(
    `SELECT position FROM ${REACTOR_CHECKPOINTS} WHERE name = $1${options.lock ? ' FOR UPDATE' : ''}`,
    [name],
  );
  return rows[0] ? Number(rows[0].position) : undefined;
}

export async function writeReactorCheckpoint(tx: Tx, name: string, position: number): Promise<void> {
  await tx.query(`UPDATE ${REACTOR_CHECKPOINTS} SET position = $2, updated_at = now() WHERE name = $1`, [
    name,
    position,
  ]);
}

/**
 * Moves the checkpoint past a batch with nothing to apply, in one round trip and one implicit
 * transaction whose commit need not wait for the WAL flush (losing it replays events that change
 * nothing). Only from where this process left it: false when another process or a restart moved
 * it meanwhile, and the caller then takes the locked path, which checks.
 */
export async function advanceReactorCheckpoint(
  pool: pg.Pool,
  name: string,
  from: number,
  to: number,
): Promise<boolean> {
  const results = (await pool.query(
    `SET LOCAL synchronous_commit = off;
     UPDATE ${REACTOR_CHECKPOINTS} SET position = ${Number(to)}, updated_at = now()
      WHERE name = ${pg.escapeLiteral(name)} AND position = ${Number(from)} AND position < ${Number(to)}`,
  )) as unknown as { rowCount: number | null }[];
  return results[1]?.rowCount === 1;
}

/** Blobs whose grace period is over at `now`, oldest deletion first, locked for this transaction. */
export async function claimDueErasures(tx: Tx, now: Date, limit: number): Promise<string[]> {
  const { rows } = await tx.query<{ sha256: string }>(
    `SELECT sha256 FROM ${PENDING_ERASURES} WHERE due_at <= $1
     ORDER BY deleted_position LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [now, limit],
  );
  return rows.map((r) => r.sha256);
}

export async function dropPendingErasure(tx: Tx, sha256: string): Promise<void> {
  await tx.query(`DELETE FROM ${PENDING_ERASURES} WHERE sha256 = $1`, [sha256]);
}
