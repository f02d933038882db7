import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../infra/blob/fs-blob-store.js';
import { BLOB_ERASER_CHECKPOINT, BlobEraser, type BlobEraserOptions } from '../../projections/reactors/blob-eraser.js';
import { PENDING_ERASURES, REACTOR_CHECKPOINTS } from '../../projections/reactors/blob-references.js';
import { createLogFixture, type LogFixture, recordingLogger } from '../projections/support.js';

let fixture: LogFixture;
let blobDir: string;
let blobs: FsBlobStore;
const running: BlobEraser[] = [];

beforeAll(async () => {
  fixture = await createLogFixture(6);
  blobDir = await mkdtemp(join(tmpdir(), 'chitti-blob-eraser-'));
  blobs = new FsBlobStore(blobDir);
});

// The eraser's state is one per database, shared by the tests: each works on its own files and bytes.
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.stop()));
});

afterAll(async () => {
  await fixture.close();
  await rm(blobDir, { recursive: true, force: true });
});

async function startEraser(options: Partial<BlobEraserOptions> = {}): Promise<BlobEraser> {
  const eraser = new BlobEraser({
    pool: fixture.pool,
    log: fixture.store,
    blobs,
    graceMs: 0,
    ...options,
  });
  await eraser.start();
  running.push(eraser);
  return eraser;
}

const fileId = () => `f-${randomBytes(6).toString('hex')}`;

/** What the API does: put the bytes, then append FileUploaded. */
async function upload(id: string, bytes: Buffer): Promise<string> {
  const { sha256, sizeBytes } = await blobs.put(bytes);
  await fixture.store.append(
    `file-${id}`,
    [
      {
        type: 'FileUploaded',
        data: {
          fileId: id,
          sha256,
          sizeBytes,
          mediaType: 'image/png',
          width: 4,
          height: 4,
          bitDepth: 8,
          channels: 1,
          originalName: 'part.png',
          uploadedBy: 'user-1',
          tags: [],
        },
        metadata: { actor: 'user-1' },
      },
    ],
    { expectedVersion: 'no_stream' },
  );
  return sha256;
}

async function remove(id: string, sha256: string): Promise<number> {
  const result = await fixture.store.append(
    `file-${id}`,
    [
      {
        type: 'FileDeleted',
        data: { fileId: id, sha256, reason: 'obsolete', deletedBy: 'user-1' },
        metadata: { actor: 'user-1' },
      },
    ],
    { expectedVersion: 1 },
  );
  return result.lastGlobalPosition;
}

const head = () => fixture.store.headPosition();
const bytes = () => randomBytes(64);

async function pendingErasures(): Promise<string[]> {
  const { rows } = await fixture.pool.query<{ sha256: string }>(`SELECT sha256 FROM ${PENDING_ERASURES}`);
  return rows.map((r) => r.sha256);
}

describe('BlobEraser', () => {
  it('erases the blob of the only file referencing it', async () => {
    const eraser = await startEraser();
    const id = fileId();
    const sha = await upload(id, bytes());
    await eraser.caughtUpTo(await head());
    expect(await blobs.has(sha)).toBe(true);

    await remove(id, sha);
    await eraser.caughtUpTo(await head());
    expect(await blobs.has(sha)).toBe(false);
    expect(await pendingErasures()).not.toContain(sha);
  });

  it('keeps the blob through the grace period and erases it once the period is over', async () => {
    let now = Date.now();
    const eraser = await startEraser({ graceMs: 60_000, clock: () => now });
    const id = fileId();
    const sha = await upload(id, bytes());
    await remove(id, sha);
    await eraser.caughtUpTo(await head());
    expect(await blobs.has(sha)).toBe(true);
    expect(await eraser.sweep()).toBe(0);

    now += 61_000;
    expect(await eraser.sweep()).toBe(1);
    expect(await blobs.has(sha)).toBe(false);
  });

  it('a re-upload of the same bytes within the grace period keeps the blob', async () => {
    let now = Date.now();
    const eraser = await startEraser({ graceMs: 60_000, clock: () => now });
    const content = bytes();
    const first = fileId();
    const sha = await upload(first, content);
    await remove(first, sha);
    await upload(fileId(), content);
    await eraser.caughtUpTo(await head());

    now += 61_000;
    expect(await eraser.sweep()).toBe(0);
    expect(await blobs.has(sha)).toBe(true);
    expect(await pendingErasures()).not.toContain(sha);
  });

  it('keeps a blob shared by two files until both are deleted', async () => {
    const eraser = await startEraser();
    const content = bytes();
    const a = fileId();
    const b = fileId();
    const sha = await upload(a, content);
    expect(await upload(b, content)).toBe(sha);

    await remove(a, sha);
    await eraser.caughtUpTo(await head());
    expect(await blobs.has(sha)).toBe(true);

    await remove(b, sha);
    await eraser.caughtUpTo(await head());
    expect(await blobs.has(sha)).toBe(false);
  });

  it('does not erase a blob whose re-upload is in the log but not yet applied by the eraser', async () => {
    let now = Date.now();
    const first = await startEraser({ graceMs: 60_000, clock: () => now });
    const content = bytes();
    const a = fileId();
    const sha = await upload(a, content);
    await remove(a, sha);
    await first.caughtUpTo(await head());
    await first.stop();

    // The same bytes again while the eraser is down; a fresh instance sweeps before applying it.
    await upload(fileId(), content);
    now += 61_000;
    const second = new BlobEraser({ pool: fixture.pool, log: fixture.store, blobs, graceMs: 60_000, clock: () => now });
    expect(await second.sweep()).toBe(0);
    expect(await blobs.has(sha)).toBe(true);
  });

  it('resumes from its checkpoint after a restart, neither erasing again nor missing a deletion', async () => {
    const firstLog = recordingLogger();
    const first = await startEraser({ logger: firstLog });
    const content = bytes();
    const a = fileId();
    const shaA = await upload(a, content);
    await remove(a, shaA);
    await first.caughtUpTo(await head());
    expect(await blobs.has(shaA)).toBe(false);
    await first.stop();

    // While it is down: the same bytes under a new file, and another file uploaded and deleted.
    expect(await upload(fileId(), content)).toBe(shaA);
    const b = fileId();
    const shaB = await upload(b, bytes());
    await remove(b, shaB);

    const secondLog = recordingLogger();
    const second = await startEraser({ logger: secondLog });
    const target = await head();
    await second.caughtUpTo(target);

    expect(await blobs.has(shaA)).toBe(true);
    expect(await blobs.has(shaB)).toBe(false);
    const erased = (log: typeof secondLog) =>
      log.lines
        .filter((l) => l.message === 'blob of deleted file erased')
        .map((l) => (l.object as { sha256: string }).sha256);
    expect(erased(firstLog)).toEqual([shaA]);
    expect(erased(secondLog)).toEqual([shaB]);
    const { rows } = await fixture.pool.query(`SELECT position FROM ${REACTOR_CHECKPOINTS} WHERE name = $1`, [
      BLOB_ERASER_CHECKPOINT,
    ]);
    expect(Number(rows[0].position)).toBe(target);
  });

  it('a FileDeleted whose blob is already gone is handled without error', async () => {
    const logger = recordingLogger();
    const eraser = await startEraser({ logger });
    const id = fileId();
    const sha = await upload(id, bytes());
    expect(await blobs.delete(sha)).toBe(true);

    await remove(id, sha);
    await eraser.caughtUpTo(await head());
    expect(await blobs.has(sha)).toBe(false);
    expect(await pendingErasures()).not.toContain(sha);
    expect(logger.lines.filter((l) => l.level !== 'info')).toEqual([]);
    expect(logger.lines.map((l) => l.message)).not.toContain('blob of deleted file erased');
  });

  it('moves past events that reference no blob, and a second process goes on from there', async () => {
    const checkpointRow = async () => {
      const { rows } = await fixture.pool.query(`SELECT position FROM ${REACTOR_CHECKPOINTS} WHERE name = $1`, [
        BLOB_ERASER_CHECKPOINT,
      ]);
      return Number(rows[0].position);
    };
    const first = await startEraser();
    const id = fileId();
    const sha = await upload(id, bytes());
    for (let version = 2; version <= 4; version++) {
      await fixture.store.append(
        `file-${id}`,
        [
          {
            type: 'FileTagged',
            data: { fileId: id, added: [`t${version}`], removed: [], taggedBy: 'user-1' },
            metadata: { actor: 'user-1' },
          },
        ],
        { expectedVersion: version - 1 },
      );
      await first.caughtUpTo(await head());
      expect(await checkpointRow()).toBe(await head());
    }
    await first.stop();
    // A second process starts where the first left; a batch that releases a blob takes the locked path.
    const second = await startEraser();
    await fixture.pool.query(`UPDATE ${REACTOR_CHECKPOINTS} SET position = position WHERE name = $1`, [
      BLOB_ERASER_CHECKPOINT,
    ]);
    const result = await fixture.store.append(
      `file-${id}`,
      [
        {
          type: 'FileDeleted',
          data: { fileId: id, sha256: sha, reason: 'obsolete', deletedBy: 'user-1' },
          metadata: { actor: 'user-1' },
        },
      ],
      { expectedVersion: 4 },
    );
    await second.caughtUpTo(result.lastGlobalPosition);
    expect(await checkpointRow()).toBe(result.lastGlobalPosition);
    expect(await blobs.has(sha)).toBe(false);
  });
});
