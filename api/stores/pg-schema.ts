import type pg from 'pg';

/**
 * The API's own small tables (not events): refresh-token rotation and idempotent responses.
 * Idempotent to run at every start.
 */
export async function migrateApiTables(pool: pg.Pool): Promise<void> {
  await pool.query(`
    CREATE SCHEMA IF NOT EXISTS api;
    CREATE TABLE IF NOT EXISTS api.refresh_tokens (
      jti uuid PRIMARY KEY,
      family_id uuid NOT NULL,
      user_id text NOT NULL,
      expires_at timestamptz NOT NULL,
      used_at timestamptz,
      revoked_at timestamptz
    );
    CREATE INDEX IF NOT EXISTS refresh_tokens_family ON api.refresh_tokens (family_id);
    -- The per-request session check reloads recent revocations several times a second.
    CREATE INDEX IF NOT EXISTS refresh_tokens_revoked ON api.refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
    CREATE TABLE IF NOT EXISTS api.idempotent_requests (
      scope text NOT NULL,
      key text NOT NULL,
      request_hash text NOT NULL,
      status integer,
      headers jsonb,
      body jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      completed_at timestamptz,
      PRIMARY KEY (scope, key)
    );
    -- A running request holds its key under a lease it renews; a retry takes over an expired one.
    ALTER TABLE api.idempotent_requests ADD COLUMN IF NOT EXISTS lease uuid;
    ALTER TABLE api.idempotent_requests ADD COLUMN IF NOT EXISTS lease_until timestamptz;
  `);
}
