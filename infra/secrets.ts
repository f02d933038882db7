import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';

/** Secrets a fresh install generates live here: a folder only its owner can enter. */
export const secretsDirOf = (dataDir: string): string => join(dataDir, 'secrets');

/** 256 random bits, base64url (43 characters). */
export const randomSecret = (): string => randomBytes(32).toString('base64url');

/**
 * SHA-256 of secrets that have been public (shipped in earlier sources or docs). Kept as hashes so
 * the values themselves appear nowhere in the code; each is refused as a secret in every mode.
 * - the development JWT secret of Chitti ≤ 0.1.0 (`infra/config.ts`).
 */
const PUBLIC_SECRETS_SHA256 = new Set(['9727210a08ee6052b19b775e4a1f47bb0e0ca0565a271112700fe0b278534297']);

export const MIN_SECRET_LENGTH = 32;

/**
 * Why a secret is unfit to sign tokens, or undefined when it is fit. Catches the usual accidents:
 * too short, a repeated pattern ('a'×40, 'abab…'), a value that has been published. The entropy
 * estimate (characters' Shannon entropy × length) is only a floor check: a random 32-character
 * hex string (128 bits) passes, 40 copies of one character does not.
 */
export function secretWeakness(secret: string): string | undefined {
  const chars = [...secret];
  if (chars.length < MIN_SECRET_LENGTH) return `shorter than ${MIN_SECRET_LENGTH} characters`;
  if (PUBLIC_SECRETS_SHA256.has(createHash('sha256').update(secret).digest('hex'))) return 'a publicly known value';
  const counts = new Map<string, number>();
  for (const c of chars) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= n * Math.log2(n / chars.length);
  if (counts.size < 8 || bits < 100) return 'too predictable (repeated characters or too few distinct ones)';
  return undefined;
}

/** Loopback host names and addresses: a server bound there is reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h.startsWith('::ffff:127.');
}

export class SecretFileError extends Error {}

/**
 * Refuses a secret file other users can read (like ssh does for private keys): its value may have
 * leaked, and silently tightening the mode would hide that.
 */
async function assertPrivate(path: string): Promise<void> {
  const { mode } = await stat(path);
  if ((mode & 0o077) !== 0) {
    throw new SecretFileError(
      `${path} is readable by other users (mode ${(mode & 0o777).toString(8)}): treat its secret as leaked, ` +
        `replace it, and run 'chmod 600 ${path}'`,
    );
  }
}

export async function readSecretFile(path: string): Promise<string> {
  await assertPrivate(path);
  return (await readFile(path, 'utf8')).trim();
}

/**
 * The secret in `path`, created with `generate()` on first use: mode 0600 in a 0700 folder, written
 * exclusively so two starts racing cannot each keep a different secret.
 */
export async function readOrCreateSecretFile(
  path: string,
  generate: () => string,
): Promise<{ value: string; created: boolean }> {
  const dir = dirname(path);
  // Only the secrets folder is private: the data folder above it keeps its mode (as root, the
  // embedded server's own user must pass through it).
  await mkdir(dirname(dir), { recursive: true });
  await mkdir(dir, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  await chmod(dir, 0o700);
  try {
    return { value: await readSecretFile(path), created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const value = generate();
  try {
    await writeFile(path, `${value}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      return { value: await readSecretFile(path), created: false };
    throw error;
  }
  return { value, created: true };
}
