import type pg from 'pg';
import type { RefreshOutcome, RefreshTokenStore } from '../ports/refresh-tokens.js';
import { BoundedStaleness } from './bounded-staleness.js';

/**
 * Refresh tokens by jti in Postgres; `consume` is one atomic UPDATE, so two racing refreshes cannot both win.
 * Revoked sessions are also kept in memory (those of the last access-token lifetime, a handful),
 * reloaded at most once per staleness window, for the per-request check.
 */
export class PgRefreshTokenStore implements RefreshTokenStore {
  private revoked: ReadonlySet<string> = new Set();
  private horizonMs = 0;
  private readonly freshness = new BoundedStaleness(async () => {
    const rows = await this.pool.query<{ family_id: string }>(
      `SELECT DISTINCT family_id FROM api.refresh_tokens
        WHERE revoked_at IS NOT NULL AND revoked_at > now() - make_interval(secs => $1)`,
      [this.horizonMs / 1000],
    );
    this.revoked = new Set(rows.rows.map((r) => r.family_id));
  });

  constructor(private readonly pool: pg.Pool) {}

  async isSessionRevoked(familyId: string, options: { maxStalenessMs: number; horizonMs: number }): Promise<boolean> {
    this.horizonMs = Math.max(this.horizonMs, options.horizonMs);
    await this.freshness.ensure(options.maxStalenessMs);
    return this.revoked.has(familyId);
  }

  async revokeFamily(familyId: string): Promise<void> {
    await this.pool.query(
      'UPDATE api.refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL',
      [familyId],
    );
  }

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
      await this.revokeFamily(token.family_id);
      return { kind: 'reused' };
    }
    return { kind: 'revoked' };
  }
}
