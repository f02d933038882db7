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
}
