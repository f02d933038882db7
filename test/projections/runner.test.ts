import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoints } from '../../projections/generations.js';
import type { Projection } from '../../projections/projection.js';
import { readModelProjections } from '../../projections/read-models/index.js';
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
});
