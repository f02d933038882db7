import type pg from 'pg';
import { migrateApiTables } from '../api/stores/pg-schema.js';
import { migrateKafkaIntegration } from '../infra/kafka/migrate.js';
import { migrate } from '../infra/postgres/migrate.js';

/** Every PostgreSQL schema Chitti owns; each step is idempotent and safe under concurrent starts. */
export async function migrateEverything(pool: pg.Pool): Promise<void> {
  await migrate(pool);
  await migrateKafkaIntegration(pool);
  await migrateApiTables(pool);
}
