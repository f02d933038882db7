import type pg from 'pg';
import type { GlobalLog } from '../commands/ports/event-store.js';
import type { RecordedEvent } from '../schemas/events/index.js';
import { applyEvents } from './apply.js';
import {
  CHECKPOINTS,
  createGeneration,
  createIndexes,
  dropGeneration,
  ensureProjection,
  pointViews,
  readCheckpoint,
} from './generations.js';
import { type Projection, type ProjectionLogger, UnknownProjectionError } from './projection.js';
import { readModelProjections } from './read-models/index.js';
import type { Tx } from './sql.js';
import { inTransaction } from './transaction.js';

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

/**
 * Events per replayed batch. With the rows written by COPY, larger batches win: fewer statements
 * and fewer rows that cross a batch boundary (loaded, then replaced). Same process, load 9-10 on
 * 2 cores: 20000 ran 1.26-1.41x the rate of 5000, for about 60 MiB more peak RSS (docs/benchmarks.md).
 */
export const DEFAULT_REBUILD_BATCH = 20_000;

export class RebuildInProgressError extends Error {
  readonly code = 'rebuild-in-progress';
  constructor(readonly projection: string) {
    super(`a rebuild of projection '${projection}' is already running`);
  }
}

/** A replay batch need not be durable at commit: a crash only loses the rebuild, which starts over. */
const relaxedDurability = (tx: Tx) => tx.query('SET LOCAL synchronous_commit = off');

interface Target {
  readonly projection: Projection;
  /** The fresh generation being filled. */
  readonly generation: number;
  /** How far this target has applied the log. */
  position: number;
  events: number;
}

/** Rebuilds one projection; see `rebuildProjections`. */
export async function rebuildProjection(
  pool: pg.Pool,
  log: GlobalLog,
  name: string,
  options: RebuildOptions = {},
): Promise<RebuildResult> {
  const [result] = await rebuildProjections(pool, log, [name], options);
  return result!;
}

/**
 * Replays the whole log into a fresh generation of each projection's tables while the current
 * ones keep serving; then, per projection, catches up the tail and swaps views and checkpoint in
 * one transaction, and drops the old tables. Several projections share one read of the log and
 * one decoding of each event.
 */
export async function rebuildProjections(
  pool: pg.Pool,
  log: GlobalLog,
  names: readonly string[],
  options: RebuildOptions = {},
): Promise<RebuildResult[]> {
  const catalogue = options.projections ?? readModelProjections;
  const projections = [...new Set(names)].map((name) => {
    const projection = catalogue.find((p) => p.name === name);
    if (!projection) throw new UnknownProjectionError(name);
    return projection;
  });
  const batchSize = options.batchSize ?? DEFAULT_REBUILD_BATCH;
  const started = performance.now();
  for (const projection of projections) await ensureProjection(pool, projection);

  // Session locks held for the whole rebuild: two rebuilds of one projection would fight over the same generation.
  const guard = await pool.connect();
  const locked: string[] = [];
  try {
    for (const { name } of projections) {
      const { rows } = await guard.query('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [`rebuild:${name}`]);
      if (!rows[0]?.ok) throw new RebuildInProgressError(name);
      locked.push(name);
    }
    const targets: Target[] = [];
    for (const projection of projections) {
      const current = (await inTransaction(pool, (tx) => readCheckpoint(tx, projection.name)))!;
      const generation = current.generation + 1;
      await inTransaction(pool, async (tx) => {
        // Leftovers of a rebuild that died between its swap and its clean-up.
        if (current.generation > 1) await dropGeneration(tx, projection, current.generation - 1);
        await createGeneration(tx, projection, generation, { indexes: false });
      });
      targets.push({ projection, generation, position: 0, events: 0 });
      options.logger?.info(
        { projection: projection.name, generation },
        'rebuild: replaying the log into a fresh generation',
      );
    }

    // Replay without blocking the live projections; the next batch is read while this one is written.
    let next = log.readAll({ after: 0, maxCount: batchSize });
    for (;;) {
      const batch: RecordedEvent[] = await next;
      if (batch.length === 0) break;
      const last = batch[batch.length - 1]!.globalPosition;
      next = batch.length < batchSize ? Promise.resolve([]) : log.readAll({ after: last, maxCount: batchSize });
      await Promise.all(
        targets.map((target) =>
          inTransaction(pool, async (tx) => {
            await relaxedDurability(tx);
            await applyEvents(tx, target.projection, batch, target.generation);
          }),
        ),
      );
      for (const target of targets) {
        target.position = last;
        target.events += batch.length;
      }
    }
    for (const target of targets) {
      await inTransaction(pool, (tx) => createIndexes(tx, target.projection, target.generation));
    }

    const results: RebuildResult[] = [];
    for (const target of targets) {
      const { projection, generation } = target;
      // The swap: with the checkpoint row locked no live batch can commit, so the tail read here is all there is.
      const previous = await inTransaction(pool, async (tx) => {
        const stored = await readCheckpoint(tx, projection.name, { lock: true });
        for (;;) {
          const tail = await log.readAll({ after: target.position, maxCount: batchSize });
          if (tail.length === 0) break;
          await applyEvents(tx, projection, tail, generation);
          target.position = tail[tail.length - 1]!.globalPosition;
          target.events += tail.length;
        }
        await pointViews(tx, projection, generation);
        await tx.query(
          `UPDATE ${CHECKPOINTS} SET generation = $2, version = $3, position = $4, updated_at = now() WHERE name = $1`,
          [projection.name, generation, projection.version, target.position],
        );
        return stored!.generation;
      });
      await inTransaction(pool, (tx) => dropGeneration(tx, projection, previous));
      const result = {
        name: projection.name,
        generation,
        position: target.position,
        events: target.events,
        durationMs: performance.now() - started,
      };
      options.logger?.info({ ...result }, 'rebuild: swapped in');
      results.push(result);
    }
    return results;
  } finally {
    for (const name of locked) await guard.query('SELECT pg_advisory_unlock(hashtext($1))', [`rebuild:${name}`]);
    guard.release();
  }
}
