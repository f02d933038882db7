import type pg from 'pg';
import type { RefreshOutcome, RefreshTokenStore } from '../ports/refresh-tokens.js';

/** Refresh tokens by jti in Postgres; `consume` is one atomic UPDATE, so two racing refreshes cannot both win. */
export class PgRefreshTokenStore implements RefreshTokenStore {
  constructor(private readonly pool: pg.Pool) {}

  async register(token: { jti: string; familyId: string; userId: string; expiresAt: Date }): Promise<void> {
    await this.pool.query(
      'INSERT INTO api.refresh_tokens (jti, family_id, user_id, expires_at) VALUES ($1, $2, $3, $4)',
      [token.jti, token.familyId, token.userId, token.expiresAt],
    );
  }

  async consume(jti: string): Promise<RefreshOutcome> {
    const used = await this.pool.query(
      `UPDATE api.refresh_tokens SET used_at = now()
        WHERE jti = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
        RETURNING family_id`,
      [jti],
    );
    if (used.rowCount === 1) return { kind: 'rotated' };
    const row = await this.pool.query<{ family_id: string; used_at: Date | null; revoked_at: Date | null }>(
      'SELECT family_id, used_at, revoked_at FROM api.refresh_tokens WHERE jti = $1',
      [jti],
    );
    const token = row.rows[0];
    if (!token) return { kind: 'unknown' };
    if (token.used_at) {
      // Reuse means the token leaked: end every session descended from the same exchange.
      await this.pool.query(
        'UPDATE api.refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL',
        [token.family_id],
      );
      return { kind: 'reused' };
    }
    return { kind: 'revoked' };
  }
}
