import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BlobStore } from '../../inference/ports/blob-store.js';

const SHA256_HEX = /^[a-f0-9]{64}$/;

export class InvalidBlobKeyError extends Error {
  readonly code = 'invalid-blob-key';
  constructor(readonly key: string) {
    super('blob key must be a lower-case hex sha256');
  }
}

/**
 * Content-addressed blobs on the local file system: `<root>/ab/cd/<sha256>`.
 * The path is derived from the content hash only, never from a client's file name, and a
 * write goes to a unique temporary file first and is renamed into place, so a reader never
 * sees a partial blob and two writers of the same content cannot corrupt each other.
 */
export class FsBlobStore implements BlobStore {
  constructor(readonly root: string) {}

  async put(bytes: Buffer): Promise<{ sha256: string; sizeBytes: number; created: boolean }> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const path = this.pathOf(sha256);
    if (await exists(path)) return { sha256, sizeBytes: bytes.length, created: false };
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${randomBytes(8).toString('hex')}.tmp`;
    try {
      await writeFile(temporary, bytes, { flag: 'wx' });
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    return { sha256, sizeBytes: bytes.length, created: true };
  }

  async get(sha256: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.pathOf(sha256));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async has(sha256: string): Promise<boolean> {
    return exists(this.pathOf(sha256));
  }

  async delete(sha256: string): Promise<boolean> {
    try {
      await unlink(this.pathOf(sha256));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  private pathOf(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new InvalidBlobKeyError(sha256);
    return join(this.root, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
