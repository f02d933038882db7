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

/** Who holds which API key and which roles, as recorded by the user events. */
export interface IdentityDirectory {
  findApiKey(keyId: string): Promise<ApiKeyRecord | undefined>;
  findUser(userId: string): Promise<UserRecord | undefined>;
}
