import { createHash, randomBytes } from 'node:crypto';
import { randomSecret, readOrCreateSecretFile, readSecretFile } from '../secrets.js';

/** One writer key: a 32-byte HMAC key and its public id. Never log `secret`. */
export interface WriterKey {
  readonly keyId: string;
  readonly secret: Buffer;
}

/**
 * The writer keys of an install: the first one MACs new events, every one verifies (rotation keeps
 * old events verifiable). Held by every appending process and by the sealer, never by the database.
 */
export interface WriterKeyRing {
  readonly current: WriterKey;
  readonly byId: ReadonlyMap<string, WriterKey>;
}

export class WriterKeyError extends Error {
  readonly code = 'invalid-writer-key';
}

const KEY_BYTES = 32;

/** Key id: the first 16 hex digits of sha256 over a label and the key (the key itself stays secret). */
export function writerKeyId(secret: Uint8Array): string {
  return createHash('sha256').update('chitti-writer-key\n').update(secret).digest('hex').slice(0, 16);
}

export function writerKeyOf(secret: Uint8Array): WriterKey {
  if (secret.length < KEY_BYTES) throw new WriterKeyError(`a writer key has at least ${KEY_BYTES} bytes`);
  return { keyId: writerKeyId(secret), secret: Buffer.from(secret) };
}

/** A ring from keys, newest first. */
export function writerKeyRing(keys: readonly WriterKey[]): WriterKeyRing {
  const current = keys[0];
  if (!current) throw new WriterKeyError('no writer key');
  return { current, byId: new Map(keys.map((key) => [key.keyId, key])) };
}

/** A fresh key (a new install, a rotation, a test). */
export function generateWriterKey(): WriterKey {
  return writerKeyOf(randomBytes(KEY_BYTES));
}

/** The text format of WRITER_KEYS and the key file: base64url keys, one a line (or comma separated), newest first. */
export function parseWriterKeys(text: string, where: string): WriterKeyRing {
  const entries = text
    .split(/[\n,]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '' && !entry.startsWith('#'));
  const keys = entries.map((entry, i) => {
    if (!/^[A-Za-z0-9_-]+={0,2}$/.test(entry)) throw new WriterKeyError(`${where}: key ${i + 1} is not base64url`);
    try {
      return writerKeyOf(Buffer.from(entry, 'base64url'));
    } catch (error) {
      throw new WriterKeyError(`${where}: key ${i + 1}: ${(error as Error).message}`);
    }
  });
  if (keys.length === 0) throw new WriterKeyError(`${where} holds no writer key`);
  return writerKeyRing(keys);
}

export interface WriterKeySource {
  /** WRITER_KEYS: the keys themselves. */
  readonly text?: string | undefined;
  /** WRITER_KEYS_FILE, or the data folder's default `secrets/writer-keys`. */
  readonly file: string;
  /** Only the default file may be created; a named file must exist. */
  readonly createIfMissing: boolean;
}

/**
 * The writer key ring: from the variable, else from the file (mode 0600, refused when others can
 * read it). A missing default file is created with one new key on first start and reused after.
 */
export async function loadWriterKeys(source: WriterKeySource): Promise<{ ring: WriterKeyRing; created: boolean }> {
  if (source.text) return { ring: parseWriterKeys(source.text, 'WRITER_KEYS'), created: false };
  const { value, created } = source.createIfMissing
    ? await readOrCreateSecretFile(source.file, randomSecret)
    : { value: await readSecretFile(source.file), created: false };
  return { ring: parseWriterKeys(value, source.file), created };
}
