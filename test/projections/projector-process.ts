/**
 * The projector as its own process: `DATABASE_URL=... node --import tsx test/projections/projector-process.ts`.
 * Wires the Postgres global log to every read model and runs until SIGTERM/SIGINT.
 * Options (environment): PROJECTOR_BATCH_SIZE, PROJECTIONS (comma-separated names; default all),
 * PROJECTOR_BATCH_DELAY_MS (tests only: holds each batch transaction open so a kill lands mid-batch).
 */
import pg from 'pg';
import { createLogger } from '../../infra/logging.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { UnknownProjectionError } from '../../projections/projection.js';
import { readModelProjections } from '../../projections/read-models/index.js';
import { ProjectionRunner } from '../../projections/runner.js';

const logger = createLogger({ name: 'projector' });

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new Error(`${name} must be a non-negative integer, got '${raw}'`);
  return value;
}

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is required');
  const wanted = process.env.PROJECTIONS?.split(',').filter(Boolean);
  const projections = wanted
    ? wanted.map((name) => {
        const projection = readModelProjections.find((p) => p.name === name);
        if (!projection) throw new UnknownProjectionError(name);
        return projection;
      })
    : readModelProjections;

  const pool = new pg.Pool({
    connectionString: url,
    max: projections.length + 3,
    application_name: 'chitti-projector',
  });
  pool.on('error', (error) => logger.warn({ err: error }, 'idle database connection failed'));
  await migrate(pool);
  const store = new PostgresEventStore(pool);
  const runner = new ProjectionRunner({
    pool,
    log: store,
    projections,
    logger,
    batchSize: intFromEnv('PROJECTOR_BATCH_SIZE', 500),
    batchDelayMs: intFromEnv('PROJECTOR_BATCH_DELAY_MS', 0),
  });
  await runner.start();
  logger.info({ projections: projections.map((p) => p.name) }, 'projector running');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'projector stopping');
    await runner.stop();
    await store.close();
    await pool.end();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error) => {
  logger.error({ err: error }, `projector failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
