import type pg from 'pg';
import type { RecordedEvent } from '../schemas/events/index.js';
import { applyEvents } from './apply.js';
import {
  CHECKPOINTS,
  createGeneration,
  dropGeneration,
  ensureProjection,
  pointViews,
  readCheckpoint,
} from './generations.js';
import type { GlobalLog } from './ports.js';
import { type Projection, type ProjectionLogger, UnknownProjectionError } from './projection.js';
import { readModelProjections } from './read-models/index.js';
import type { Tx } from './sql.js';

export interface RebuildOptions {
  /** Where `name` is looked up; defaults to all read models. */
  readonly projections?: readonly Projection[];
  readonly logger?: ProjectionLogger;
  readonly batchSize?: number;
}

export interface RebuildResult {
  readonly name: string;
  readonly generation: number;
  readonly position: number;
  readonly events: number;
  readonly durationMs: number;
}

export class RebuildInProgressError extends Error {
  readonly code = 'rebuild-in-progress';
  constructor(readonly projection: string) {
    super(`a rebuild of projection '${projection}' is already running`);
  }
}

async function inTransaction<T>(pool: pg.Pool, work: (tx: Tx) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Replays the whole log into a fresh generation of the projection's tables while the current one
 * keeps serving, then swaps views and checkpoint in one transaction and drops the old tables.
 */
export async function rebuildProjection(
  pool: pg.Pool,
  log: GlobalLog,
  name: string,
  options: RebuildOptions = {},
): Promise<RebuildResult> {
  const projection = (options.projections ?? readModelProjections).find((p) => p.name === name);
  if (!projection) throw new UnknownProjectionError(name);
  const batchSize = options.batchSize ?? 2000;
  const started = performance.now();
  await ensureProjection(pool, projection);

  // A session lock held for the whole rebuild: two rebuilds of one projection would fight over the same generation.
  const guard = await pool.connect();
  try {
    const { rows } = await guard.query('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [`rebuild:${name}`]);
    if (!rows[0]?.ok) throw new RebuildInProgressError(name);
    try {
      const current = await inTransaction(pool, (tx) => readCheckpoint(tx, name));
      const generation = current!.generation + 1;
      await inTransaction(pool, async (tx) => {
        // Leftovers of a rebuild that died between its swap and its clean-up.
        if (current!.generation > 1) await dropGeneration(tx, projection, current!.generation - 1);
        await createGeneration(tx, projection, generation);
      });
      options.logger?.info({ projection: name, generation }, 'rebuild: replaying the log into a fresh generation');

      // Replay without blocking the live projection; the next batch is read while this one is written.
      let position = 0;
      let events = 0;
      let next = log.readAll({ after: 0, maxCount: batchSize });
      for (;;) {
        const batch: RecordedEvent[] = await next;
        if (batch.length === 0) break;
        position = batch[batch.length - 1]!.globalPosition;
        events += batch.length;
        next = batch.length < batchSize ? Promise.resolve([]) : log.readAll({ after: position, maxCount: batchSize });
        await inTransaction(pool, (tx) => applyEvents(tx, projection, batch, generation));
      }

      // The swap: with the checkpoint row locked no live batch can commit, so the tail read here is all there is.
      const previous = await inTransaction(pool, async (tx) => {
        const stored = await readCheckpoint(tx, name, { lock: true });
        for (;;) {
          const tail = await log.readAll({ after: position, maxCount: batchSize });
          if (tail.length === 0) break;
          await applyEvents(tx, projection, tail, generation);
          position = tail[tail.length - 1]!.globalPosition;
          events += tail.length;
        }
        await pointViews(tx, projection, generation);
        await tx.query(
          `UPDATE ${CHECKPOINTS} SET generation = $2, version = $3, position = $4, updated_at = now() WHERE name = $1`,
          [name, generation, projection.version, position],
        );
        return stored!.generation;
      });
      await inTransaction(pool, (tx) => dropGeneration(tx, projection, previous));
      const result = { name, generation, position, events, durationMs: performance.now() - started };
      options.logger?.info({ ...result }, 'rebuild: swapped in');
      return result;
    } finally {
      await guard.query('SELECT pg_advisory_unlock(hashtext($1))', [`rebuild:${name}`]);
    }
  } finally {
    guard.release();
  }
}
