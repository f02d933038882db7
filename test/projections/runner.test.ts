import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoints } from '../../projections/generations.js';
import type { Projection } from '../../projections/projection.js';
import { auditTrailTable } from '../../projections/read-models/audit-trail.js';
import { auditTrailProjection, readModelProjections } from '../../projections/read-models/index.js';
import { ProjectionRunner } from '../../projections/runner.js';
import { createLogFixture, type LogFixture, recordingLogger } from './support.js';
import { generateWorkload, writeWorkload } from './workload.js';

let fx: LogFixture;
beforeAll(async () => {
  fx = await createLogFixture();
});
afterAll(async () => {
  await fx.close();
});

/** The audit trail model once more under other names, so it runs beside the real one. */
const auditCopy: Projection = {
  ...auditTrailProjection,
  name: 'audit_copy',
  tables: [{ ...auditTrailTable, name: 'audit_copy' }],
  apply: (tx, events, tables) => auditTrailProjection.apply(tx, events, () => tables('audit_copy')),
};

/** Fails on the first FileTagged it sees: a stand-in for a projection with a bug. */
const brokenProjection: Projection = {
  name: 'broken',
  version: 1,
  tables: [{ name: 'broken_rows', columns: [{ name: 'id', type: 'text' }], primaryKey: ['id'] }],
  handles: new Set(['FileTagged']),
  async apply() {
    throw new Error('boom: cannot handle tags');
  },
};

describe('projection runner', () => {
  it('applies the log to every read model, exposes lag, and a failing projection stops alone', async () => {
    const logger = recordingLogger();
    const registry = new Registry();
    const written = await writeWorkload(fx.store, generateWorkload({ inspections: 60 }));
    const runner = new ProjectionRunner({
      pool: fx.pool,
      log: fx.store,
      projections: [...readModelProjections, brokenProjection],
      logger,
      registry,
      batchSize: 50,
      retries: 0,
    });
    await runner.start();
    const head = await fx.store.headPosition();
    expect(head).toBeGreaterThanOrEqual(written);
    // Every healthy projection reaches the head; the broken one stopped itself.
    for (const p of readModelProjections) {
      await expect
        .poll(() => runner.status().find((s) => s.name === p.name)?.checkpoint, { timeout: 20_000 })
        .toBe(head);
    }
    const broken = runner.status().find((s) => s.name === 'broken')!;
    expect(broken.state).toBe('failed');
    expect(broken.error).toContain('boom');
    expect(broken.lag).toBeGreaterThan(0);
    expect(runner.lag('files')).toBe(0);
    expect(logger.lines.some((l) => l.level === 'error' && l.message.includes('projection broken stopped'))).toBe(true);

    // Its failed batch committed nothing: the checkpoint stays before the first FileTagged.
    const stored = (await readCheckpoints(fx.pool)).find((c) => c.name === 'broken')!;
    expect(stored.position).toBe(broken.checkpoint);
    const { rows } = await fx.pool.query(
      `SELECT min(global_position)::int AS first FROM events WHERE type = 'FileTagged'`,
    );
    expect(stored.position).toBeLessThan(rows[0].first);

    const metrics = await registry.getSingleMetricAsString('chitti_projection_lag_events');
    expect(metrics).toContain('chitti_projection_lag_events{projection="files"} 0');
    expect(metrics).toMatch(/chitti_projection_lag_events\{projection="broken"\} [1-9]/);

    // Live: a new event reaches the read model through the subscription.
    await fx.store.append(
      'file-live1',
      [
        {
          type: 'FileUploaded',
          data: {
            fileId: 'live1',
            sha256: 'a'.repeat(64),
            sizeBytes: 5,
            mediaType: 'image/png',
            width: 2,
            height: 2,
            bitDepth: 8,
            channels: 1,
            originalName: 'x.png',
            uploadedBy: 'zoe',
            tags: [],
          },
          metadata: { actor: 'zoe' },
        },
      ],
      { expectedVersion: 'no_stream' },
    );
    await expect
      .poll(
        async () =>
          (await fx.pool.query(`SELECT uploaded_by FROM read.files WHERE file_id = 'live1'`)).rows[0]?.uploaded_by,
        {
          timeout: 10_000,
        },
      )
      .toBe('zoe');
    await runner.stop();
    const stopped = runner.status().find((s) => s.name === 'files')!;
    expect(stopped.state).toBe('stopped');
  });

  it('waits out a lost database connection instead of stopping', async () => {
    const logger = recordingLogger();
    const pool = new pg.Pool({ connectionString: fx.db.url, max: 4, application_name: 'runner-under-test' });
    pool.on('error', () => {}); // the terminated connection reports here too
    const runner = new ProjectionRunner({
      pool,
      log: fx.store,
      projections: [auditCopy],
      logger,
      batchSize: 20,
      retries: 0,
      batchDelayMs: 100,
    });
    try {
      await runner.start();
      // Kill the connection of a batch that is inside its transaction.
      await expect
        .poll(
          async () =>
            (
              await fx.pool.query(
                `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
                  WHERE application_name = 'runner-under-test' AND state = 'idle in transaction'`,
              )
            ).rows[0].n,
          { timeout: 20_000, interval: 20 },
        )
        .toBeGreaterThan(0);
      await runner.caughtUp();
      expect(runner.status()[0]!.state).toBe('running');
      expect(logger.lines.some((l) => l.level === 'warn' && l.message.includes('database unavailable'))).toBe(true);
      const { rows } = await fx.pool.query('SELECT count(*)::int AS n FROM read.audit_copy');
      expect(rows[0].n).toBe(await fx.store.headPosition());
    } finally {
      await runner.stop();
      await pool.end();
    }
  });

  it('moves past a batch with nothing it reads in one statement, without a transaction', async () => {
    const pool = new pg.Pool({ connectionString: fx.db.url, max: 2 });
    // Transactions take a client with `connect()`; single statements go through `pool.query`.
    let transactions = 0;
    const connect = pool.connect.bind(pool);
    pool.connect = ((...args: Parameters<typeof pool.connect>) => {
      if ((args as unknown[]).length === 0) transactions++;
      return connect(...args);
    }) as typeof pool.connect;
    const reportsOnly: Projection = {
      name: 'reports_only',
      version: 1,
      tables: [{ name: 'reports_only', columns: [{ name: 'id', type: 'text' }], primaryKey: ['id'] }],
      handles: new Set(['ReportIssued']),
      async apply() {
        throw new Error('no ReportIssued was written');
      },
    };
    const runner = new ProjectionRunner({ pool, log: fx.store, projections: [reportsOnly], logger: recordingLogger() });
    try {
      await runner.start();
      const before = transactions;
      await writeWorkload(fx.store, generateWorkload({ inspections: 3 }));
      const head = await fx.store.headPosition();
      await runner.caughtUp(head);
      expect(transactions).toBe(before);
      const stored = (await readCheckpoints(fx.pool)).find((c) => c.name === 'reports_only')!;
      expect(stored.position).toBe(head);
      expect(runner.status()[0]!.state).toBe('running');
    } finally {
      await runner.stop();
      await pool.end();
    }
  });
});
