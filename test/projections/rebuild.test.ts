import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoints } from '../../projections/generations.js';
import { UnknownProjectionError } from '../../projections/projection.js';
import { filesProjection, readModelProjections } from '../../projections/read-models/index.js';
import { RebuildInProgressError, rebuildProjection } from '../../projections/rebuild.js';
import { ProjectionRunner } from '../../projections/runner.js';
import { createLogFixture, type LogFixture, recordingLogger, snapshot } from './support.js';
import { generateWorkload, writeWorkload } from './workload.js';

let fx: LogFixture;
beforeAll(async () => {
  fx = await createLogFixture(10);
});
afterAll(async () => {
  await fx.close();
});

const views = readModelProjections.flatMap((p) => p.tables.map((t) => t.name));

/**
 * Reads every view in a loop. A reader must never fail and never see a partial model: the audit
 * trail is always a gap-free prefix of the log, and no view ever shrinks (the history only grows).
 */
function startReaders(db: pg.Pool) {
  let running = true;
  const failures: unknown[] = [];
  let rounds = 0;
  const lastCount = new Map<string, number>();
  const seenGenerations = new Set<number>();
  const done = (async () => {
    while (running) {
      try {
        for (const view of views) {
          const { rows } = await db.query(`SELECT count(*)::int AS n FROM read.${view}`);
          const n = rows[0].n as number;
          if (n < (lastCount.get(view) ?? 0))
            failures.push(new Error(`read.${view} shrank from ${lastCount.get(view)} to ${n}`));
          lastCount.set(view, n);
        }
        const { rows } = await db.query(
          'SELECT count(*)::int AS n, coalesce(max(position), 0)::int AS max FROM read.audit_trail',
        );
        if (rows[0].n !== rows[0].max)
          failures.push(new Error(`audit trail has holes: ${rows[0].n} rows up to ${rows[0].max}`));
        const generations = await db.query('SELECT sum(generation)::int AS g FROM read.projection_checkpoints');
        seenGenerations.add(generations.rows[0].g);
        rounds++;
      } catch (error) {
        failures.push(error);
      }
    }
  })();
  return {
    failures,
    seenGenerations,
    get rounds() {
      return rounds;
    },
    async stop() {
      running = false;
      await done;
    },
  };
}

describe('rebuild without downtime', () => {
  it('replays into fresh tables equal to the incrementally built ones, while readers and writers keep going', async () => {
    const logger = recordingLogger();
    await writeWorkload(fx.store, generateWorkload({ inspections: 40, seed: 1 }));
    const runner = new ProjectionRunner({
      pool: fx.pool,
      log: fx.store,
      projections: readModelProjections,
      logger,
      batchSize: 7,
    });
    await runner.start();
    await runner.caughtUp();
    const incremental = await snapshot(fx.pool, readModelProjections);
    expect(incremental.audit_trail!.length).toBe(await fx.store.headPosition());

    // Quiet log: a replay from scratch gives exactly the rows the small live batches gave.
    for (const p of readModelProjections) await rebuildProjection(fx.pool, fx.store, p.name, { batchSize: 1000 });
    expect(await snapshot(fx.pool, readModelProjections)).toEqual(incremental);

    // Busy log: rebuild every model while events are appended, the runner is live and readers read.
    const readers = startReaders(fx.pool);
    const writing = writeWorkload(
      fx.store,
      generateWorkload({ inspections: 30, seed: 2 }).map((a) => ({
        streamId: a.streamId.replace(/-(\w)(\d+)$/, '-$1w$2').replace('model-weld', 'model-weld2'),
        events: a.events.map((e) => ({ ...e, data: renameIds(e.data) })),
      })),
    );
    for (const p of readModelProjections) await rebuildProjection(fx.pool, fx.store, p.name, { batchSize: 50 });
    await writing;
    await runner.caughtUp();
    await readers.stop();
    expect(readers.failures).toEqual([]);
    // The readers really ran across swaps: they saw several generations go live.
    expect(readers.seenGenerations.size).toBeGreaterThan(2);
    const afterBusyRebuild = await snapshot(fx.pool, readModelProjections);
    await runner.stop();

    // What the runner and the rebuild produced together equals a replay of the final log.
    for (const p of readModelProjections) await rebuildProjection(fx.pool, fx.store, p.name);
    expect(await snapshot(fx.pool, readModelProjections)).toEqual(afterBusyRebuild);

    // Three rebuilds each: generation 4 is live, the old tables are gone.
    const checkpoints = await readCheckpoints(fx.pool);
    expect(checkpoints.map((c) => c.generation)).toEqual(readModelProjections.map(() => 4));
    const { rows } = await fx.pool.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'read' AND table_type = 'BASE TABLE' AND table_name LIKE '%\\_\\_g%' ORDER BY 1`,
    );
    expect(rows.map((r) => r.table_name)).toEqual(
      [...views]
        .sort()
        .map((v) => `${v}__g4`)
        .sort(),
    );
  });

  it('refuses a second rebuild of the same projection and an unknown name', async () => {
    const holder = new pg.Client({ connectionString: fx.db.url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock(hashtext($1))', ['rebuild:files']);
      await expect(rebuildProjection(fx.pool, fx.store, 'files')).rejects.toBeInstanceOf(RebuildInProgressError);
    } finally {
      await holder.end();
    }
    await expect(rebuildProjection(fx.pool, fx.store, 'nope')).rejects.toBeInstanceOf(UnknownProjectionError);
  });

  it('rebuilds on start when a projection version changes', async () => {
    const before = (await readCheckpoints(fx.pool)).find((c) => c.name === 'files')!;
    const filesNext = { ...filesProjection, version: filesProjection.version + 1 };
    const runner = new ProjectionRunner({
      pool: fx.pool,
      log: fx.store,
      projections: [filesNext],
      logger: recordingLogger(),
    });
    await runner.start();
    await runner.caughtUp();
    await runner.stop();
    const after = (await readCheckpoints(fx.pool)).find((c) => c.name === 'files')!;
    expect(after).toMatchObject({
      version: filesProjection.version + 1,
      generation: before.generation + 1,
      position: await fx.store.headPosition(),
    });
  });
});

/** Gives the second workload its own ids so it adds to the first instead of colliding with it. */
function renameIds(data: unknown): unknown {
  const d = { ...(data as Record<string, unknown>) };
  for (const key of ['fileId', 'inspectionId', 'userId'] as const) {
    if (typeof d[key] === 'string') d[key] = (d[key] as string).replace(/^(\w)(\d+)$/, '$1w$2');
  }
  if (d.name === 'weld') d.name = 'weld2';
  return d;
}
