import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsBlobStore, InvalidBlobKeyError } from './fs-blob-store.js';

describe('FsBlobStore', () => {
  let root: string;
  let store: FsBlobStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'chitti-blobs-'));
    store = new FsBlobStore(root);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('stores bytes under their sha256 in fan-out directories and reads them back', async () => {
    const bytes = Buffer.from('a weld radiograph, pretend');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const result = await store.put(bytes);
    expect(result).toEqual({ sha256, sizeBytes: bytes.length, created: true });
    expect(await readFile(join(root, sha256.slice(0, 2), sha256.slice(2, 4), sha256))).toEqual(bytes);
    expect(await store.get(sha256)).toEqual(bytes);
    expect(await store.has(sha256)).toBe(true);
  });

  it('deduplicates identical content and leaves no temporary files', async () => {
    const bytes = Buffer.from([1, 2, 3, 4]);
    const results = await Promise.all([store.put(bytes), store.put(bytes), store.put(bytes)]);
    expect(new Set(results.map((r) => r.sha256)).size).toBe(1);
    expect((await store.put(bytes)).created).toBe(false);
    const sha256 = results[0]!.sha256;
    const files = await readdir(join(root, sha256.slice(0, 2), sha256.slice(2, 4)));
    expect(files).toEqual([sha256]);
  });

  it('reports absent blobs and deletes present ones', async () => {
    const { sha256 } = await store.put(Buffer.from('to be erased'));
    expect(await store.delete(sha256)).toBe(true);
    expect(await store.delete(sha256)).toBe(false);
    expect(await store.get(sha256)).toBeUndefined();
    expect(await store.has(sha256)).toBe(false);
  });

  it('refuses keys that are not a sha256, so no key can name a path', async () => {
    for (const key of ['../../etc/passwd', 'ABC', `${'a'.repeat(63)}/`, '']) {
      await expect(store.get(key)).rejects.toBeInstanceOf(InvalidBlobKeyError);
      await expect(store.has(key)).rejects.toBeInstanceOf(InvalidBlobKeyError);
      await expect(store.delete(key)).rejects.toBeInstanceOf(InvalidBlobKeyError);
    }
  });
});
