import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { type Config, ConfigError, DependencyError, type JwtKey, loadConfig, StartupError } from '../infra/config.js';
import { startEmbeddedPostgres } from '../infra/embedded-postgres.js';
import { createLogger, type Logger, logDestination } from '../infra/logging.js';
import { AppendWitness } from '../infra/postgres/append-witness.js';
import { PostgresEventStore } from '../infra/postgres/event-store.js';
import { loadWriterKeys, type WriterKeyRing } from '../infra/sealing/writer-keys.js';
import { secretsDirOf } from '../infra/secrets.js';
import { stopTelemetry } from '../infra/telemetry.js';
import { isUnreachable } from './exit-codes.js';
import { type JwtKeySource, resolveJwtKeys } from './jwt-keys.js';
import { migrateEverything } from './migrations.js';
import { startRetention } from './wiring/retention.js';

/** What every process shares: configuration, logs, one pool, the event store. */
export interface Runtime {
  /** The command this process runs (`api`, `relay`, ...): names its logs, pool and metrics port. */
  readonly name: string;
  readonly config: Config;
  readonly logger: Logger;
  readonly pool: pg.Pool;
  readonly databaseUrl: string;
  readonly store: PostgresEventStore;
  /** What this process appended, until its sealer (if it runs one) seals it. */
  readonly witness: AppendWitness;
  /** This install's writer keys: the store MACs every append with the first; the sealer checks them. */
  readonly writerKeys: WriterKeyRing;
  readonly dataDir: string;
  /** The JWT key ring of API-serving processes (`RuntimeOptions.jwtKeys`); empty for the others. */
  readonly jwtKeys: readonly JwtKey[];
  /** Closes everything opened here, last opened first. */
  close(): Promise<void>;
  onClose(fn: () => Promise<void> | void): void;
}

export interface RuntimeOptions {
  readonly name: string;
  /**
   * Use embedded PostgreSQL when DATABASE_URL is unset (only `start` and one-off admin commands).
   * `start` owns the server; a one-off command uses the server a running `start` of the same data
   * folder has, and only starts one of its own when none runs.
   */
  readonly allowEmbedded: boolean;
  /**
   * Long-running services: the launcher started tracing for them; flush it at close. They log to
   * stdout (the container convention); one-off commands log to stderr, their stdout is data.
   */
  readonly traced?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  /** Serves the API: resolve its JWT key ring before anything starts (`cli/jwt-keys.ts`). */
  readonly jwtKeys?: JwtKeySource;
}

export async function openRuntime(options: RuntimeOptions): Promise<Runtime> {
  const config = loadConfig(options.env);
  // Services answer requests: their log lines must not block the event loop.
  const logger = createLogger(
    { level: config.LOG_LEVEL, name: `chitti-${options.name}` },
    logDestination(options.traced ? 'stdout' : 'stderr', { asyncWrites: options.traced === true }),
  );
  const closers: (() => Promise<void> | void)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (error) {
        logger.warn({ err: error }, 'error while shutting down');
      }
    }
  };
  if (options.traced) closers.push(stopTelemetry);
  const dataDir = resolve(config.CHITTI_DATA_DIR);
  const jwtKeys = options.jwtKeys
    ? await resolveJwtKeys({ config, dataDir, logger, source: options.jwtKeys, command: options.name })
    : [];
  if (!config.DATABASE_URL && !options.allowEmbedded)
    throw new StartupError(`chitti ${options.name} needs DATABASE_URL (distributed mode)`);
  try {
    return await openDatabase(options, config, logger, dataDir, jwtKeys, closers, closeAll);
  } catch (error) {
    // Stop what was started (an embedded server above all) before reporting why.
    await closeAll();
    throw error;
  }
}

async function openDatabase(
  options: RuntimeOptions,
  config: Config,
  logger: Logger,
  dataDir: string,
  jwtKeys: readonly JwtKey[],
  closers: (() => Promise<void> | void)[],
  closeAll: () => Promise<void>,
): Promise<Runtime> {
  let databaseUrl = config.DATABASE_URL;
  if (!databaseUrl) {
    const embedded = await startEmbeddedPostgres({
      dataDir,
      port: config.EMBEDDED_PG_PORT,
      logger,
      attach: !options.traced,
    });
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
  // A connection that dies while checked out (between two queries of a transaction, e.g. the
  // server shutting down) emits 'error' on its client, and the pool only listens while the client
  // is idle: without this the process would crash. The client's next query then fails as
  // unavailable, which its user retries or answers with 503.
  pool.on('connect', (client) =>
    client.on('error', (error) =>
      closing
        ? logger.debug({ err: error }, 'client ended by shutdown')
        : logger.warn({ err: error }, 'PostgreSQL connection lost while in use'),
    ),
  );
  closers.push(() => pool.end());
  try {
    await migrateEverything(pool);
  } catch (error) {
    if (!isUnreachable(error)) throw error;
    const where = config.DATABASE_URL ? 'DATABASE_URL' : `the embedded PostgreSQL of ${dataDir}`;
    throw new DependencyError(
      `cannot reach PostgreSQL (${where}): ${(error as Error).message || (error as { code?: string }).code}: ` +
        `check that it runs and that ${config.DATABASE_URL ? 'DATABASE_URL' : 'CHITTI_DATA_DIR'} is right`,
      { cause: error },
    );
  }
  const witness = new AppendWitness();
  const writerKeys = await openWriterKeys(config, dataDir, logger, pool);
  const store = new PostgresEventStore(pool, {
    witness,
    writerKeys,
    onListenError: (error) => logger.warn({ err: error }, 'event notification connection lost; reconnecting'),
  });
  closers.push(() => store.close());
  const runtime: Runtime = {
    name: options.name,
    config,
    logger,
    pool,
    databaseUrl,
    store,
    witness,
    writerKeys,
    dataDir,
    jwtKeys,
    onClose: (fn) => closers.push(fn),
    async close() {
      closing = true;
      await closeAll();
    },
  };
  // Every long-running service keeps the dedupe and idempotency tables bounded.
  if (options.traced) startRetention(runtime);
  return runtime;
}

/**
 * WRITER_KEYS, else WRITER_KEYS_FILE, else the data folder's own file. That file is created only
 * while no writer has MACed an event yet (a fresh install). Beside an install whose writers hold
 * another key it is never made up: events this process appended would carry MACs the sealer refuses
 * (it stops sealing there), and its own verify would call every unsealed event forged.
 */
async function openWriterKeys(config: Config, dataDir: string, logger: Logger, pool: pg.Pool): Promise<WriterKeyRing> {
  const file = resolve(config.WRITER_KEYS_FILE ?? join(secretsDirOf(dataDir), 'writer-keys'));
  const ownFile = config.WRITER_KEYS === undefined && config.WRITER_KEYS_FILE === undefined;
  if (ownFile && !(await exists(file)) && (await writersHaveMacedEvents(pool)))
    throw new ConfigError([
      `this database's events carry writer MACs and this process has no writer key (${file} is missing): ` +
        "set WRITER_KEYS or WRITER_KEYS_FILE to the install's writer keys, or CHITTI_DATA_DIR to its data folder " +
        '(docs/integrity.md, "Writer MACs")',
    ]);
  const { ring, created } = await loadWriterKeys({ text: config.WRITER_KEYS, file, createIfMissing: ownFile });
  const source = config.WRITER_KEYS ? '(WRITER_KEYS)' : file;
  if (created) logger.info({ writerKeyId: ring.current.keyId, file }, `created a writer key in ${file} (mode 0600)`);
  else logger.debug({ writerKeyId: ring.current.keyId, source, keys: ring.byId.size }, 'writer keys loaded');
  return ring;
}

/** Whether any event from the writer-MAC cut-over on carries a MAC (an index range, not a scan). */
async function writersHaveMacedEvents(pool: pg.Pool): Promise<boolean> {
  const { rows } = await pool.query<{ maced: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM events
                     WHERE global_position >= (SELECT writer_macs_from FROM event_log_head)
                       AND writer_mac IS NOT NULL) AS maced`,
  );
  return rows[0]?.maced === true;
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

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
