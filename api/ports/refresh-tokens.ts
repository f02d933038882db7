export type RefreshOutcome =
  | { readonly kind: 'rotated' }
  /** The token was already used: the whole family is revoked (a stolen token was replayed). */
  | { readonly kind: 'reused' }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'revoked' };

/** Tracks refresh tokens by jti so each can be exchanged exactly once (rotation with reuse detection). */
export interface RefreshTokenStore {
  register(token: { jti: string; familyId: string; userId: string; expiresAt: Date }): Promise<void>;
  /** Atomically marks the token used; a second call for the same jti reports `reused` and revokes its family. */
  consume(jti: string): Promise<RefreshOutcome>;
  /** Ends a session: its family's refresh tokens stop working and `isSessionRevoked` reports it. */
  revokeFamily(familyId: string): Promise<void>;
  /**
   * Whether the session was revoked, as of at most `maxStalenessMs` ago. Only revocations younger
   * than `horizonMs` (the access-token lifetime) are kept: older sessions' access tokens have expired.
   */
  isSessionRevoked(familyId: string, options: { maxStalenessMs: number; horizonMs: number }): Promise<boolean>;
}
