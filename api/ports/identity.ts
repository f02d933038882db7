import type { Role } from '../../schemas/events/index.js';

export interface ApiKeyRecord {
  readonly keyId: string;
  readonly userId: string;
  /** sha256 hex of the secret part of the key; the secret itself is never stored. */
  readonly secretSha256: string;
  readonly expiresAt: Date | null;
  readonly revoked: boolean;
}

export interface UserRecord {
  readonly userId: string;
  readonly roles: readonly Role[];
}

/**
 * How current an answer must be. Default (0): everything committed before the call is reflected.
 * A per-request check accepts a few hundred ms, so that it costs one round trip per window.
 */
export interface Freshness {
  readonly maxStalenessMs?: number;
}

/** Who holds which API key and which roles, as recorded by the user events. */
export interface IdentityDirectory {
  findApiKey(keyId: string, freshness?: Freshness): Promise<ApiKeyRecord | undefined>;
  findUser(userId: string, freshness?: Freshness): Promise<UserRecord | undefined>;
}
