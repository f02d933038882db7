import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** `chitti_<keyId>_<secret>`: keyId is 16 hex chars, the secret 64 hex chars (256 bits). */
const API_KEY = /^chitti_([a-f0-9]{16})_([a-f0-9]{64})$/;

export interface GeneratedApiKey {
  readonly keyId: string;
  /** The secret part: hashed into ApiKeyIssued, never stored or logged. */
  readonly secret: string;
  /** Shown to the user once; never stored or logged. */
  readonly token: string;
  /** What ApiKeyIssued records. */
  readonly secretSha256: string;
}

export const sha256Hex = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

export function generateApiKey(): GeneratedApiKey {
  const keyId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('hex');
  return { keyId, secret, token: `chitti_${keyId}_${secret}`, secretSha256: sha256Hex(secret) };
}

export function parseApiKey(token: string): { keyId: string; secret: string } | undefined {
  const match = API_KEY.exec(token);
  return match ? { keyId: match[1]!, secret: match[2]! } : undefined;
}

/** Constant-time comparison of the presented secret's hash with the recorded one. */
export function secretMatches(secret: string, recordedSha256: string): boolean {
  const presented = Buffer.from(sha256Hex(secret), 'hex');
  const recorded = Buffer.from(recordedSha256, 'hex');
  return presented.length === recorded.length && timingSafeEqual(presented, recorded);
}
