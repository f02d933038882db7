import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EmbeddedDatabase,
  loadEmbeddedPostgres,
  postgresPasswordFileOf,
  startEmbeddedPostgres,
} from '../../infra/embedded-postgres.js';
import { createLogger } from '../../infra/logging.js';
import { randomSecret } from '../../infra/secrets.js';
import { freePort } from './support.js';

let dataDir: string;
let port: number;
let running: EmbeddedDatabase | undefined;
const lines: string[] = [];
const logger = createLogger(
  { level: 'info' },
  new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  }),
);

const databaseDir = () => join(dataDir, 'postgres');

async function canLogIn(password: string | undefined): Promise<boolean> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'chitti', password });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * A data folder as versions before per-install passwords left it: initialised with a password
 * Chitti no longer has (then a public constant; any value will do, the upgrade must not need it),
 * plain `password` authentication, no password file, and data in it.
 */
async function legacyInstall(oldPassword: string): Promise<void> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const quiet = () => undefined;
  const server = new EmbeddedPostgres({
    databaseDir: databaseDir(),
    port,
    user: 'postgres',
    password: oldPassword,
    authMethod: 'password',
    persistent: true,
    createPostgresUser: true,
    onLog: quiet,
    onError: quiet,
  });
  await server.initialise();
  await server.start();
  try {
    const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: oldPassword });
    await admin.connect();
    await admin.query('CREATE DATABASE chitti');
    await admin.end();
    const chitti = new pg.Client({
      host: '127.0.0.1',
      port,
      user: 'postgres',
      password: oldPassword,
      database: 'chitti',
    });
    await chitti.connect();
    await chitti.query("CREATE TABLE kept (note text); INSERT INTO kept VALUES ('from before the upgrade')");
    await chitti.end();
  } finally {
    await server.stop();
  }
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'chitti-pg-upgrade-'));
  await chmod(dataDir, 0o711); // the embedded server's own user must pass through it
  port = await freePort();
});

afterAll(async () => {
  await running?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('embedded PostgreSQL password', () => {
  it('an install from before per-install passwords gets a generated one at start, and keeps its data', async () => {
    const oldPassword = randomSecret();
    await legacyInstall(oldPassword);

    running = await startEmbeddedPostgres({ dataDir, port, logger });
    expect(lines.join('')).toMatch(/predates per-install passwords/);
    const password = (await readFile(postgresPasswordFileOf(dataDir), 'utf8')).trim();
    expect(Buffer.from(password, 'base64url')).toHaveLength(32);
    expect((await stat(postgresPasswordFileOf(dataDir))).mode & 0o777).toBe(0o600);
    expect(lines.join('')).not.toContain(password);

    const client = new pg.Client({ connectionString: running.url });
    await client.connect();
    expect((await client.query('SELECT note FROM kept')).rows).toEqual([{ note: 'from before the upgrade' }]);
    await client.end();
    expect(await canLogIn(password)).toBe(true);
    expect(await canLogIn(oldPassword)).toBe(false);
    expect(await canLogIn(undefined)).toBe(false);
    const hba = (await readFile(join(databaseDir(), 'pg_hba.conf'), 'utf8'))
      .split('\n')
      .filter((line) => /^\s*(local|host)/.test(line));
    expect(hba.length).toBeGreaterThan(0);
    for (const line of hba) expect(line).toMatch(/scram-sha-256\s*$/);
  });

  it('a later start uses the password file as it is', async () => {
    await running?.stop();
    running = undefined;
    lines.length = 0;
    running = await startEmbeddedPostgres({ dataDir, port, logger });
    expect(lines.join('')).not.toMatch(/setting the embedded PostgreSQL password/);
  });

  it('a password file that no longer matches (lost, replaced) is made to match again', async () => {
    await running?.stop();
    running = undefined;
    lines.length = 0;
    const replaced = randomSecret();
    await writeFile(postgresPasswordFileOf(dataDir), `${replaced}\n`, { mode: 0o600 });
    running = await startEmbeddedPostgres({ dataDir, port, logger });
    expect(lines.join('')).toMatch(/refused the password in/);
    expect(await canLogIn(replaced)).toBe(true);
  });
});
