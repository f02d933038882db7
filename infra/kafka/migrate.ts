import type pg from 'pg';

/**
 * Tables of the Kafka integration, in their own schema: the relay's checkpoint and the consumers'
 * processed-event ledger. Idempotent; concurrent callers are serialised by an advisory lock.
 */
const statements = [
  'CREATE SCHEMA IF NOT EXISTS kafka_integration',
  `CREATE TABLE IF NOT EXISTS kafka_integration.relay_checkpoints (
     relay text PRIMARY KEY,
     -- Highest global position the broker has acknowledged (acks=all) for this relay.
     position bigint NOT NULL CHECK (position >= 0),
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE TABLE IF NOT EXISTS kafka_integration.processed_events (
     consumer text NOT NULL,
     event_id text NOT NULL,
     processed_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (consumer, event_id)
   )`,
];

const MIGRATION_LOCK = 0x6b61666b; // 'kafk'

export async function migrateKafkaIntegration(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      for (const sql of statements) await client.query(sql);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}
