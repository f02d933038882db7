/**
 * Backup and restore time of a large log (the RTO/RPO figures of docs/deployment.md):
 *
 *   node --import tsx bench/backup.ts [events=1000000]
 *
 * Seeds a throw-away database with `events` events by bulk SQL (payloads of the size of a real
 * DetectionsRecorded, placeholder hashes: backup and restore copy rows, they never recompute
 * them), then times `backup` into a temporary folder and `restore` into a second fresh database,
 * and prints events/s and the backup size. Rebuilding the read models afterwards is measured by
 * bench/projections.ts (its events/s gives the rest of the restore time).
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrateEverything } from '../cli/migrations.js';
import { backup, restore } from '../infra/postgres/backup.js';
import { createBenchDatabase, runIfMain } from './support.js';

async function seed(pool: pg.Pool, events: number): Promise<void> {
  const step = 100_000;
  for (let from = 1; from <= events; from += step) {
    const to = Math.min(events, from + step - 1);
    await pool.query(
      `INSERT INTO events (global_position, stream_id, stream_version, event_id, type, schema_version, data, metadata, recorded_at, hash, prev_hash)
       SELECT p, 'inspection-' || (p / 8), (p % 8) + 1, gen_random_uuid(), 'DetectionsRecorded', 1,
              jsonb_build_object('inspectionId', (p / 8)::text, 'role', 'live', 'detections',
                (SELECT jsonb_agg(jsonb_build_object('detectionId', p || '-' || d, 'className', 'porosity',
                   'score', 0.71, 'box', jsonb_build_object('x1', 10, 'y1', 20, 'x2', 30, 'y2', 40)))
                 FROM generate_series(1, 3) d)),
              jsonb_build_object('actor', 'bench', 'correlationId', md5(p::text)),
              now() - make_interval(secs => ($2 - p)), md5(p::text) || md5(p::text), md5((p - 1)::text) || md5((p - 1)::text)
         FROM generate_series($1::bigint, $2::bigint) p`,
      [from, to],
    );
  }
  await pool.query('UPDATE event_log_head SET position = $1', [events]);
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const events = Number(argv[0] ?? 1_000_000);
  const source = await createBenchDatabase('chitti_bench_backup');
  const target = await createBenchDatabase('chitti_bench_restore');
  const dir = await mkdtemp(join(tmpdir(), 'chitti-bench-backup-'));
  const sourcePool = new pg.Pool({ connectionString: source.url, max: 2 });
  const targetPool = new pg.Pool({ connectionString: target.url, max: 2 });
  try {
    await migrateEverything(sourcePool);
    await migrateEverything(targetPool);
    let t = Date.now();
    await seed(sourcePool, events);
    console.log(`seeded ${events} events in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const backedUp = await backup(sourcePool, { dir: join(dir, 'b'), blobsDir: join(dir, 'no-blobs') });
    const bytes = await folderBytes(join(dir, 'b'));
    t = Date.now();
    const restored = await restore(targetPool, { dir: join(dir, 'b'), blobsDir: join(dir, 'restored-blobs') });
    const restoreMs = Date.now() - t;
    const rate = (ms: number) => Math.round(events / (ms / 1000));
    console.log(
      JSON.stringify({
        events,
        backupSeconds: +(backedUp.durationMs / 1000).toFixed(1),
        backupEventsPerSecond: rate(backedUp.durationMs),
        backupMiB: +(bytes / 2 ** 20).toFixed(1),
        restoreSeconds: +(restoreMs / 1000).toFixed(1),
        restoreEventsPerSecond: rate(restoreMs),
        restoredEvents: restored.events,
        cpus: cpus().length,
        loadAverage: loadavg()[0]?.toFixed(1),
      }),
    );
  } finally {
    await sourcePool.end();
    await targetPool.end();
    await source.drop();
    await target.drop();
    await rm(dir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, main);
