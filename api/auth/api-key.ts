import { timingSafeEqual } from 'node:crypto';
import { API_KEY_PATTERN, apiKeyToken, newApiKeyId, newApiKeySecret, sha256Hex } from '../../commands/api-keys.js';

export { sha256Hex };

export interface GeneratedApiKey {
  readonly keyId: string;
  /** The secret part: hashed into ApiKeyIssued, never stored or logged. */
  readonly secret: string;
  /** Shown to the user once; never stored or logged. */
  readonly token: string;
  /** What ApiKeyIssued records. */
  readonly secretSha256: string;
}

export function generateApiKey(): GeneratedApiKey {
  const keyId = newApiKeyId();
  const secret = newApiKeySecret();
  return { keyId, secret, token: apiKeyToken(keyId, secret), secretSha256: sha256Hex(secret) };
}

export function parseApiKey(token: string): { keyId: string; secret: string } | undefined {
  const match = API_KEY_PATTERN.exec(token);
  return match ? { keyId: match[1]!, secret: match[2]! } : undefined;
}

/** Constant-time comparison of the presented secret's hash with the recorded one. */
export function secretMatches(secret: string, recordedSha256: string): boolean {
  const presented = Buffer.from(sha256Hex(secret), 'hex');
  const recorded = Buffer.from(recordedSha256, 'hex');
  return presented.length === recorded.length && timingSafeEqual(presented, recorded);
}
