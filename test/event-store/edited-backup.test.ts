import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../infra/postgres/audit-verify.js';
import { backup, restore } from '../../infra/postgres/backup.js';
import { computeEventHashV2 } from '../../infra/postgres/event-hash.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { Sealer, UnauthenticatedEventError } from '../../infra/postgres/sealer.js';
import { SealAnchorFile } from '../../infra/sealing/anchor-file.js';
import { generateSealSigningKey, publicKeyOf } from '../../infra/sealing/seal-keys.js';
import { generateWriterKey, writerKeyRing } from '../../infra/sealing/writer-keys.js';
import { tagged } from '../conformance/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';

type Row = Record<string, unknown>;
const readGz = async (path: string): Promise<Row[]> =>
  gunzipSync(await readFile(path))
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Row);
const writeGz = (path: string, rows: readonly Row[]) =>
  writeFile(path, gzipSync(rows.map((r) => `${JSON.stringify(r)}\n`).join('')));
const sha256Of = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

/**
 * A backup edited before it is restored, by someone without keys: a forged event appended at the
 * end of the last chunk, hashed correctly, the log head and stream head moved in their table files,
 * the manifest's counts and checksums recomputed. Restored, it is never sealed and verify names it.
 */
describe('a restored and edited backup', () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let dir: string;
  const writerKeys = writerKeyRing([generateWriterKey()]);
  const sealKey = generateSealSigningKey();

  beforeAll(async () => {
    source = await createTestDatabase('chitti_bk_src');
    target = await createTestDatabase('chitti_bk_dst');
    dir = await mkdtemp(join(tmpdir(), 'chitti-edited-backup-'));
    const pool = new pg.Pool({ connectionString: source.url, max: 2 });
    await migrate(pool);
    const store = new PostgresEventStore(pool, { writerKeys });
    const anchor = new SealAnchorFile(join(dir, 'anchor.ndjson'));
    for (const [i, stream] of ['a', 'b', 'a'].entries())
      await store.append(`file-${stream}`, [tagged(i)], { expectedVersion: 'any' });
    await new Sealer(pool, { signingKey: sealKey, store, anchor, writerKeys }).sealUpTo();
    await store.close();
    await backup(pool, { dir: join(dir, 'backup'), blobsDir: join(dir, 'blobs') });
    await pool.end();
  });
  afterAll(async () => {
    await source?.drop();
    await target?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a forged event added to the files is restored, never sealed, and named by verify', async () => {
    const backupDir = join(dir, 'backup');
    const manifest = JSON.parse(await readFile(join(backupDir, 'manifest.json'), 'utf8'));
    const chunk = manifest.eventChunks.at(-1);
    const events = await readGz(join(backupDir, chunk.file));
    const tip = events.filter((e) => e.stream_id === 'file-a').at(-1)!;
    const last = events.at(-1)!;
    const position = Number(last.global_position) + 1;
    const forged = {
      globalPosition: position,
      streamId: 'file-a',
      streamVersion: Number(tip.stream_version) + 1,
      eventId: randomUUID(),
      type: 'FileTagged',
      schemaVersion: 1,
      data: { fileId: 'a', added: ['forged'], removed: [], taggedBy: 'user-1' },
      metadata: { actor: 'user-1' },
      recordedAt: new Date(String(last.recorded_at)),
    };
    events.push({
      ...last,
      global_position: position,
      stream_id: forged.streamId,
      stream_version: forged.streamVersion,
      event_id: forged.eventId,
      type: forged.type,
      schema_version: 1,
      data: forged.data,
      metadata: forged.metadata,
      hash: computeEventHashV2(forged, String(tip.hash)),
      prev_hash: tip.hash,
      hash_version: 2,
      writer_mac: null,
    });
    await writeGz(join(backupDir, chunk.file), events);
    chunk.rows += 1;
    chunk.sha256 = await sha256Of(join(backupDir, chunk.file));
    manifest.events += 1;
    for (const entry of manifest.tables) {
      if (entry.table !== 'public.event_log_head' && entry.table !== 'public.streams') continue;
      const path = join(backupDir, entry.file);
      const rows = (await readGz(path)).map((r) =>
        entry.table === 'public.event_log_head'
          ? { ...r, position }
          : r.stream_id === 'file-a'
            ? { ...r, version: forged.streamVersion }
            : r,
      );
      await writeGz(path, rows);
      entry.sha256 = await sha256Of(path);
    }
    await writeFile(join(backupDir, 'manifest.json'), JSON.stringify(manifest));

    const pool = new pg.Pool({ connectionString: target.url, max: 2 });
    const store = new PostgresEventStore(pool, { writerKeys });
    try {
      await migrate(pool);
      await restore(pool, { dir: backupDir, blobsDir: join(dir, 'restored-blobs') });
      const anchor = new SealAnchorFile(join(dir, 'anchor.ndjson'));
      const sealer = new Sealer(pool, { signingKey: sealKey, store, anchor, writerKeys });
      await expect(sealer.sealUpTo()).rejects.toBeInstanceOf(UnauthenticatedEventError);
      const anchored = await anchor.read();
      const report = await verifyAudit(pool, {
        trustedKeys: new Map([[sealKey.published.keyId, publicKeyOf(sealKey.published)]]),
        anchor: anchored,
        writerKeys,
        writerMacsFrom: anchored.writerMacsFrom,
      });
      expect(report.ok).toBe(false);
      expect(report.firstProblem).toMatchObject({ kind: 'unauthenticated', globalPosition: position });
    } finally {
      await store.close();
      await pool.end();
    }
  });
});
