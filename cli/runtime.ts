import { resolve } from 'node:path';
import pg from 'pg';
import { type Config, type JwtKey, loadConfig, StartupError } from '../infra/config.js';
import { startEmbeddedPostgres } from '../infra/embedded-postgres.js';
import { createLogger, type Logger } from '../infra/logging.js';
import { PostgresEventStore } from '../infra/postgres/event-store.js';
import { stopTelemetry } from '../infra/telemetry.js';
import { type JwtKeySource, resolveJwtKeys } from './jwt-keys.js';
import { migrateEverything } from './migrations.js';

/** What every process shares: configuration, logs, one pool, the event store. */
export interface Runtime {
  readonly config: Config;
  readonly logger: Logger;
  readonly pool: pg.Pool;
  readonly databaseUrl: string;
  readonly store: PostgresEventStore;
  readonly dataDir: string;
  /** The JWT key ring of API-serving processes (`RuntimeOptions.jwtKeys`); empty for the others. */
  readonly jwtKeys: readonly JwtKey[];
  /** Closes everything opened here, last opened first. */
  close(): Promise<void>;
  onClose(fn: () => Promise<void> | void): void;
}

export interface RuntimeOptions {
  readonly name: string;
  /** Start embedded PostgreSQL when DATABASE_URL is unset (only `start` and one-off admin commands). */
  readonly allowEmbedded: boolean;
  /** Long-running services: the launcher started tracing for them; flush it at close. */
  readonly traced?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  /** Serves the API: resolve its JWT key ring before anything starts (`cli/jwt-keys.ts`). */
  readonly jwtKeys?: JwtKeySource;
}

export async function openRuntime(options: RuntimeOptions): Promise<Runtime> {
  const config = loadConfig(options.env);
  // Services answer requests: their log lines must not block the event loop.
  const logger = createLogger({
    level: config.LOG_LEVEL,
    name: `chitti-${options.name}`,
    asyncWrites: options.traced === true,
  });
  const closers: (() => Promise<void> | void)[] = [];
  if (options.traced) closers.push(stopTelemetry);
  const dataDir = resolve(config.CHITTI_DATA_DIR);
  const jwtKeys = options.jwtKeys
    ? await resolveJwtKeys({ config, dataDir, logger, source: options.jwtKeys, command: options.name })
    : [];
  let databaseUrl = config.DATABASE_URL;
  if (!databaseUrl) {
    if (!options.allowEmbedded) throw new StartupError(`chitti ${options.name} needs DATABASE_URL (distributed mode)`);
    const embedded = await startEmbeddedPostgres({ dataDir, port: config.EMBEDDED_PG_PORT, logger });
    closers.push(() => embedded.stop());
    databaseUrl = embedded.url;
  }
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, application_name: `chitti-${options.name}` });
  let closing = false;
  // While shutting down, idle clients being ended may see the server go first: not worth a warning.
  pool.on('error', (error) =>
    closing
      ? logger.debug({ err: error }, 'idle client ended by shutdown')
      : logger.warn({ err: error }, 'idle PostgreSQL client failed'),
  );
  closers.push(() => pool.end());
  await migrateEverything(pool);
  const store = new PostgresEventStore(pool, {
    onListenError: (error) => logger.warn({ err: error }, 'event notification connection lost; reconnecting'),
  });
  closers.push(() => store.close());
  return {
    config,
    logger,
    pool,
    databaseUrl,
    store,
    dataDir,
    jwtKeys,
    onClose: (fn) => closers.push(fn),
    async close() {
      closing = true;
      for (const close of closers.reverse()) {
        try {
          await close();
        } catch (error) {
          logger.warn({ err: error }, 'error while shutting down');
        }
      }
    },
  };
}

/** Resolves on SIGINT/SIGTERM so long-running commands shut down cleanly. */
export function untilSignal(logger: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolveSignal) => {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'shutting down');
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolveSignal(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
