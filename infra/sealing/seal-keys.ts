import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** A public seal key as published: in the log, in exports, in the anchor, by `GET /v1/audit/seal-keys`. */
export interface PublishedSealKey {
  readonly keyId: string;
  readonly algorithm: 'Ed25519';
  /** SubjectPublicKeyInfo, PEM (what `openssl pkey -pubin` reads). */
  readonly publicKeyPem: string;
}

/** The sealer's key pair. The private half never leaves the process; never log this object. */
export interface SealSigningKey {
  readonly privateKey: KeyObject;
  readonly published: PublishedSealKey;
}

export class SealKeyError extends Error {
  readonly code = 'invalid-seal-key';
}

/** The raw 32-byte Ed25519 public key: the last 32 bytes of its 44-byte SPKI DER. */
function rawPublicKey(publicKey: KeyObject): Buffer {
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new SealKeyError('seal keys must be Ed25519');
  return publicKey.export({ type: 'spki', format: 'der' }).subarray(-32);
}

/** Key id: the first 16 hex digits of sha256 over the raw 32-byte public key. */
export function sealKeyId(publicKey: KeyObject): string {
  return createHash('sha256').update(rawPublicKey(publicKey)).digest('hex').slice(0, 16);
}

export function publishSealKey(publicKey: KeyObject): PublishedSealKey {
  return {
    keyId: sealKeyId(publicKey),
    algorithm: 'Ed25519',
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export function signingKeyFrom(privateKey: KeyObject): SealSigningKey {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new SealKeyError('the seal private key must be Ed25519');
  return { privateKey, published: publishSealKey(createPublicKey(privateKey)) };
}

/** A fresh key pair (for a new install, or a test). */
export function generateSealSigningKey(): SealSigningKey {
  return signingKeyFrom(generateKeyPairSync('ed25519').privateKey);
}

function parsePrivateKey(pem: string, where: string): SealSigningKey {
  try {
    return signingKeyFrom(createPrivateKey(pem));
  } catch (error) {
    if (error instanceof SealKeyError) throw error;
    throw new SealKeyError(`${where} is not a PEM private key`);
  }
}

export interface SealKeySource {
  /** SEAL_PRIVATE_KEY: the PEM itself. */
  readonly pem?: string | undefined;
  /** SEAL_PRIVATE_KEY_FILE, or the data folder's default file. */
  readonly file: string;
  /** Only the default file may be created; a named file must exist. */
  readonly createIfMissing: boolean;
}

/**
 * The sealer's key: from the variable, else from the file. A missing default file is created with a
 * new key, mode 0600, on first start and reused after. Returns whether it was just created.
 */
export async function loadSealSigningKey(source: SealKeySource): Promise<{ key: SealSigningKey; created: boolean }> {
  if (source.pem) return { key: parsePrivateKey(source.pem, 'SEAL_PRIVATE_KEY'), created: false };
  const existing = await readFile(source.file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' && source.createIfMissing) return undefined;
    throw new SealKeyError(`cannot read the seal key file ${source.file}: ${error.code ?? error.message}`);
  });
  if (existing !== undefined) {
    const mode = (await stat(source.file)).mode & 0o777;
    if (mode & 0o077) await chmod(source.file, 0o600);
    return { key: parsePrivateKey(existing, source.file), created: false };
  }
  const { privateKey } = generateKeyPairSync('ed25519');
  await mkdir(dirname(source.file), { recursive: true });
  try {
    // 'wx': two processes starting at once must not both write a key; the loser reads the winner's.
    await writeFile(source.file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return loadSealSigningKey(source);
    throw error;
  }
  return { key: signingKeyFrom(privateKey), created: true };
}

/** Parses one or more PEM public keys (concatenated, as a keys file holds them) into a trust set. */
export function parsePublicKeys(text: string): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  for (const block of text.match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) ?? []) {
    const key = createPublicKey(block);
    keys.set(sealKeyId(key), key);
  }
  return keys;
}

export function publicKeyOf(published: PublishedSealKey): KeyObject {
  const key = createPublicKey(published.publicKeyPem);
  if (sealKeyId(key) !== published.keyId) throw new SealKeyError(`key id ${published.keyId} does not match its key`);
  return key;
}
