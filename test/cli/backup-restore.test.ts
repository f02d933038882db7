import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateEverything } from '../../cli/migrations.js';
import { FsBlobStore } from '../../infra/blob/fs-blob-store.js';
import { backup, restore } from '../../infra/postgres/backup.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { generateWriterKey, parseWriterKeys } from '../../infra/sealing/writer-keys.js';
import { isolatedEnv, runChitti } from '../e2e/support.js';
import { generateWorkload, writeWorkload } from '../projections/workload.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';

/** Every read-model view and search table, as sorted JSON rows: what queries can see. */
async function readModelsOf(url: string): Promise<Record<string, string[]>> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    const { rows: relations } = await pool.query<{ name: string }>(
      `SELECT table_schema || '.' || table_name AS name FROM information_schema.tables
        WHERE (table_schema = 'read' AND table_type = 'VIEW') OR (table_schema = 'search' AND table_name <> 'checkpoint')
        ORDER BY 1`,
    );
    const out: Record<string, string[]> = {};
    for (const { name } of relations) {
      const { rows } = await pool.query<{ line: string }>(`SELECT row_to_json(t)::text AS line FROM ${name} t`);
      out[name] = rows.map((r) => r.line).sort();
    }
    return out;
  } finally {
    await pool.end();
  }
}

describe('chitti backup / restore: a destroyed install comes back intact', () => {
  let source: TestDatabase;
  let target: TestDatabase | undefined;
  let dir: string;
  let sourceData: string;
  let targetData: string;
  let backupDir: string;
  const blobsWritten: string[] = [];
  const writerKeys = generateWriterKey().secret.toString('base64url');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chitti-backup-'));
    sourceData = join(dir, 'source');
    targetData = join(dir, 'target');
    backupDir = join(dir, 'backup');
    source = await createTestDatabase('chitti_bk');
    const pool = new pg.Pool({ connectionString: source.url, max: 4 });
    await migrateEverything(pool);
    // The install's writer keys, kept with its secrets and brought to the restored install.
    const store = new PostgresEventStore(pool, { writerKeys: parseWriterKeys(writerKeys, 'test') });
    await writeWorkload(store, generateWorkload({ inspections: 40, seed: 7 }), 4);
    await store.close();
    await pool.end();
    const blobs = new FsBlobStore(join(sourceData, 'blobs'));
    for (let i = 0; i < 3; i++) blobsWritten.push((await blobs.put(randomBytes(1000 + i))).sha256);
  }, 120_000);

  afterAll(async () => {
    await source.drop().catch(() => undefined);
    await target?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const env = (url: string, dataDir: string) =>
    // Seals are verified against the anchor below, not their age: a slow run must not make the
    // events its own commands appended count as overdue.
    isolatedEnv({
      DATABASE_URL: url,
      CHITTI_DATA_DIR: dataDir,
      SEAL_MAX_UNSEALED_SECONDS: '86400',
      LOG_LEVEL: 'warn',
      WRITER_KEYS: writerKeys,
    });

  it('backs up, is destroyed, restores into an empty database: audit verify ok, read models identical', async () => {
    const sourceEnv = env(source.url, sourceData);
    expect((await runChitti(['audit', 'verify', '--seal'], sourceEnv)).code).toBe(0);
    expect((await runChitti(['projections', 'rebuild', 'all'], sourceEnv)).code).toBe(0);
    expect((await runChitti(['projections', 'rebuild', 'search'], sourceEnv)).code).toBe(0);
    const before = await readModelsOf(source.url);
    expect(Object.keys(before).length).toBeGreaterThan(3);
    expect(before['read.inspections']?.length).toBe(40);

    const backedUp = await runChitti(['backup', backupDir, '--chunk-events', '100'], sourceEnv);
    expect(backedUp.code, backedUp.output).toBe(0);
    const summary = JSON.parse(backedUp.output.trim().split('\n').at(-1)!) as { position: number; events: number };
    expect(summary.events).toBeGreaterThan(100);

    // The seal anchor lives outside the database: an auditor keeps a copy of it (docs/integrity.md).
    const anchorCopy = join(dir, 'anchor-copy.ndjson');
    await copyFile(join(sourceData, 'seal-anchor.ndjson'), anchorCopy);

    // Destroy the install: the database and its data folder are gone.
    await source.drop();
    await rm(sourceData, { recursive: true, force: true });

    target = await createTestDatabase('chitti_rs');
    const targetEnv = env(target.url, targetData);
    const restored = await runChitti(['restore', backupDir], targetEnv);
    expect(restored.code, restored.output).toBe(0);
    expect(JSON.parse(restored.output.trim().split('\n').at(-1)!)).toMatchObject({
      position: summary.position,
      events: summary.events,
    });

    const verify = await runChitti(['audit', 'verify', '--anchor', anchorCopy], targetEnv);
    expect(verify.code, verify.output).toBe(0);
    const after = await readModelsOf(target.url);
    expect(after).toEqual(before);
    for (const sha of blobsWritten) {
      const bytes = await new FsBlobStore(join(targetData, 'blobs')).get(sha);
      expect(bytes?.length).toBeGreaterThan(999);
    }

    // A second restore into the now populated database is refused and changes nothing.
    const again = await runChitti(['restore', backupDir], targetEnv);
    expect(again.code).toBe(2);
    expect(again.output).toMatch(/already holds events: restore into an empty one/);
  }, 300_000);

  it('resumes: finished chunks are kept, later events are added, the result restores to the same log', async () => {
    const db = await createTestDatabase('chitti_bkr');
    const copy = await createTestDatabase('chitti_bkc');
    const pool = new pg.Pool({ connectionString: db.url, max: 4 });
    const copyPool = new pg.Pool({ connectionString: copy.url, max: 2 });
    const resumable = join(dir, 'resumable');
    try {
      await migrateEverything(pool);
      const store = new PostgresEventStore(pool);
      const workload = generateWorkload({ inspections: 20, seed: 3 });
      const half = Math.floor(workload.length / 2);
      await writeWorkload(store, workload.slice(0, half));
      const blobsDir = join(dir, 'resumable-blobs');
      const first = await backup(pool, { dir: resumable, blobsDir, chunkEvents: 25 });
      const chunks = await readdir(join(resumable, 'events'));
      const mtimes = await Promise.all(chunks.map(async (c) => (await stat(join(resumable, 'events', c))).mtimeMs));

      // Interrupted later run: a half-written chunk and no manifest yet.
      await writeWorkload(store, workload.slice(half));
      await unlink(join(resumable, 'manifest.json'));
      await writeFile(join(resumable, 'events', 'chunk.partial'), 'garbage');
      const second = await backup(pool, { dir: resumable, blobsDir, chunkEvents: 25 });
      await store.close();

      expect(second.position).toBe(await new PostgresEventStore(pool).headPosition());
      expect(second.position).toBeGreaterThan(first.position);
      expect(second.newEvents).toBe(second.events - first.events);
      for (const [i, chunk] of chunks.entries()) {
        expect((await stat(join(resumable, 'events', chunk))).mtimeMs, chunk).toBe(mtimes[i]);
      }

      await migrateEverything(copyPool);
      const result = await restore(copyPool, { dir: resumable, blobsDir: join(dir, 'resumable-restored') });
      expect(result.events).toBe(second.events);
      const log = async (p: pg.Pool) =>
        (await p.query('SELECT global_position, event_id, hash FROM events ORDER BY 1')).rows;
      expect(await log(copyPool)).toEqual(await log(pool));
      const manifest = JSON.parse(await readFile(join(resumable, 'manifest.json'), 'utf8'));
      expect(manifest.position).toBe(second.position);
    } finally {
      await pool.end();
      await copyPool.end();
      await db.drop();
      await copy.drop();
    }
  }, 180_000);
});
