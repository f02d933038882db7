import type pg from 'pg';
import type { IdempotencyBegin, IdempotencyStore, StoredResponse } from '../ports/idempotency.js';

/** Idempotent responses in Postgres, kept for `retentionHours` (a key may be reused after that). */
export class PgIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly retentionHours = 24,
  ) {}

  async begin(scope: string, key: string, requestHash: string): Promise<IdempotencyBegin> {
    await this.pool.query(
      `DELETE FROM api.idempotent_requests
        WHERE scope = $1 AND key = $2 AND created_at < now() - make_interval(hours => $3)`,
      [scope, key, this.retentionHours],
    );
    const inserted = await this.pool.query(
      `INSERT INTO api.idempotent_requests (scope, key, request_hash) VALUES ($1, $2, $3)
       ON CONFLICT (scope, key) DO NOTHING`,
      [scope, key, requestHash],
    );
    if (inserted.rowCount === 1) return { kind: 'started' };
    const existing = await this.pool.query<{
      request_hash: string;
      status: number | null;
      headers: Record<string, string> | null;
      body: unknown;
    }>('SELECT request_hash, status, headers, body FROM api.idempotent_requests WHERE scope = $1 AND key = $2', [
      scope,
      key,
    ]);
    const row = existing.rows[0];
    // Abandoned between our insert attempt and this read: the caller may simply retry.
    if (!row) return { kind: 'in-progress' };
    if (row.request_hash !== requestHash) return { kind: 'mismatch' };
    if (row.status === null) return { kind: 'in-progress' };
    return { kind: 'replay', response: { status: row.status, headers: row.headers ?? {}, body: row.body } };
  }

  async complete(scope: string, key: string, response: StoredResponse): Promise<void> {
    await this.pool.query(
      `UPDATE api.idempotent_requests SET status = $3, headers = $4, body = $5, completed_at = now()
        WHERE scope = $1 AND key = $2`,
      [scope, key, response.status, JSON.stringify(response.headers), JSON.stringify(response.body)],
    );
  }

  async abandon(scope: string, key: string): Promise<void> {
    await this.pool.query('DELETE FROM api.idempotent_requests WHERE scope = $1 AND key = $2 AND status IS NULL', [
      scope,
      key,
    ]);
  }
}
