import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { IdempotencyBegin, IdempotencyStore, StoredResponse } from '../ports/idempotency.js';

export interface PgIdempotencyOptions {
  /** How long a stored response is replayed (a key may be reused after that). */
  readonly retentionHours?: number;
  /**
   * How long a running request holds its key without renewing it. It renews every third of
   * this, so only a request whose process died loses it; a retry then takes the key over.
   */
  readonly leaseSeconds?: number;
}

export const DEFAULT_IDEMPOTENCY_LEASE_SECONDS = 10;

/** Idempotent responses in Postgres, kept for `retentionHours`; running requests hold a lease. */
export class PgIdempotencyStore implements IdempotencyStore {
  private readonly retentionHours: number;
  private readonly leaseSeconds: number;
  readonly renewEveryMs: number;

  constructor(
    private readonly pool: pg.Pool,
    options: PgIdempotencyOptions = {},
  ) {
    this.retentionHours = options.retentionHours ?? 24;
    this.leaseSeconds = options.leaseSeconds ?? DEFAULT_IDEMPOTENCY_LEASE_SECONDS;
    if (!(this.leaseSeconds > 0)) throw new RangeError('leaseSeconds must be > 0');
    this.renewEveryMs = Math.max(100, Math.floor((this.leaseSeconds * 1000) / 3));
  }

  async begin(scope: string, key: string, requestHash: string): Promise<IdempotencyBegin> {
    await this.pool.query(
      `DELETE FROM api.idempotent_requests
        WHERE scope = $1 AND key = $2 AND created_at < now() - make_interval(hours => $3)`,
      [scope, key, this.retentionHours],
    );
    const lease = randomUUID();
    // New key, or the same request's key whose holder stopped renewing (a row from before leases
    // existed has none): take it. One statement, so two retries cannot both take it over.
    const taken = await this.pool.query(
      `INSERT INTO api.idempotent_requests AS r (scope, key, request_hash, lease, lease_until)
       VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
       ON CONFLICT (scope, key) DO UPDATE SET lease = EXCLUDED.lease, lease_until = EXCLUDED.lease_until
         WHERE r.status IS NULL AND r.request_hash = EXCLUDED.request_hash
           AND (r.lease_until IS NULL OR r.lease_until < now())`,
      [scope, key, requestHash, lease, this.leaseSeconds],
    );
    if (taken.rowCount === 1) return { kind: 'started', lease };
    const existing = await this.pool.query<{
      request_hash: string;
      status: number | null;
      headers: Record<string, string> | null;
      body: unknown;
      lease_left: number | null;
    }>(
      `SELECT request_hash, status, headers, body, extract(epoch FROM lease_until - now())::float8 AS lease_left
         FROM api.idempotent_requests WHERE scope = $1 AND key = $2`,
      [scope, key],
    );
    const row = existing.rows[0];
    // Abandoned between our insert attempt and this read: the caller may simply retry.
    if (!row) return { kind: 'in-progress', retryAfterSeconds: 1 };
    if (row.request_hash !== requestHash) return { kind: 'mismatch' };
    if (row.status === null) {
      return { kind: 'in-progress', retryAfterSeconds: Math.max(1, Math.ceil(row.lease_left ?? 1)) };
    }
    return { kind: 'replay', response: { status: row.status, headers: row.headers ?? {}, body: row.body } };
  }

  async renew(scope: string, key: string, lease: string): Promise<boolean> {
    const renewed = await this.pool.query(
      `UPDATE api.idempotent_requests SET lease_until = now() + make_interval(secs => $4)
        WHERE scope = $1 AND key = $2 AND lease = $3 AND status IS NULL`,
      [scope, key, lease, this.leaseSeconds],
    );
    return renewed.rowCount === 1;
  }

  async complete(scope: string, key: string, lease: string, response: StoredResponse): Promise<void> {
    await this.pool.query(
      `UPDATE api.idempotent_requests SET status = $4, headers = $5, body = $6, completed_at = now()
        WHERE scope = $1 AND key = $2 AND lease = $3 AND status IS NULL`,
      [scope, key, lease, response.status, JSON.stringify(response.headers), JSON.stringify(response.body)],
    );
  }

  async abandon(scope: string, key: string, lease: string): Promise<void> {
    await this.pool.query(
      'DELETE FROM api.idempotent_requests WHERE scope = $1 AND key = $2 AND lease = $3 AND status IS NULL',
      [scope, key, lease],
    );
  }
}
