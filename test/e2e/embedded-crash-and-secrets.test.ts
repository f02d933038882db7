import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChittiProcess,
  freePort,
  isolatedEnv,
  isRunning,
  postmasterPid,
  runChitti,
  startChitti,
  stopLeftoverPostgres,
  waitUntilReady,
} from './support.js';

const run = promisify(execFile);
const require_ = createRequire(import.meta.url);

describe('npm start: secrets of its own, a database only it can log in to, recovery from kill -9', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let url: string;
  let pgPort: number;
  let chitti: ChittiProcess | undefined;
  const serverPid = async () => {
    const pid = await postmasterPid(dataDir);
    if (pid === undefined) throw new Error(`no embedded PostgreSQL runs for ${dataDir}`);
    return pid;
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'chitti-e2e-crash-'));
    await chmod(dataDir, 0o711); // the embedded server's own user must pass through it
    const port = await freePort();
    pgPort = await freePort();
    url = `http://127.0.0.1:${port}`;
    env = isolatedEnv({ CHITTI_DATA_DIR: dataDir, PORT: String(port), EMBEDDED_PG_PORT: String(pgPort) });
  });

  afterAll(async () => {
    await chitti?.stop('SIGTERM');
    await stopLeftoverPostgres(dataDir);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('generates its JWT key ring and database password into data/secrets, says where, and lets no one else in', {
    timeout: 180_000,
  }, async () => {
    chitti = startChitti(['start'], env);
    await waitUntilReady(url, chitti);
    const secretsDir = join(dataDir, 'secrets');
    expect((await stat(secretsDir)).mode & 0o777).toBe(0o700);
    for (const name of ['jwt-keys', 'postgres-password']) {
      expect((await stat(join(secretsDir, name))).mode & 0o777, name).toBe(0o600);
    }
    const jwtSecret = (await readFile(join(secretsDir, 'jwt-keys'), 'utf8')).trim().split(':')[1]!;
    const password = (await readFile(join(secretsDir, 'postgres-password'), 'utf8')).trim();
    const output = chitti.output();
    expect(output).toContain(join(secretsDir, 'jwt-keys'));
    expect(output).toContain(join(secretsDir, 'postgres-password'));
    expect(output).not.toContain(jwtSecret);
    expect(output).not.toContain(password);

    const login = async (pw: string | undefined) => {
      const client = new pg.Client({
        host: '127.0.0.1',
        port: pgPort,
        user: 'postgres',
        database: 'chitti',
        password: pw,
      });
      client.on('error', () => undefined);
      try {
        await client.connect();
        return 'in';
      } catch (error) {
        return (error as { code?: string; message: string }).code ?? (error as Error).message;
      } finally {
        await client.end().catch(() => undefined);
      }
    };
    expect(await login(password)).toBe('in');
    expect(await login('postgres')).toBe('28P01'); // the password every earlier install had
    expect(await login(undefined)).not.toBe('in');

    // Another local OS user: cannot read the password, cannot log in without it.
    const probe = `
      const fs = require('node:fs');
      const pg = require(${JSON.stringify(require_.resolve('pg'))});
      let read;
      try { fs.readFileSync(${JSON.stringify(join(secretsDir, 'postgres-password'))}); read = 'read'; } catch (e) { read = e.code; }
      const c = new pg.Client({ host: '127.0.0.1', port: ${pgPort}, user: 'postgres', database: 'chitti', password: '' });
      c.on('error', () => {});
      c.connect().then(() => 'in', (e) => e.code || e.message).then((login) => { console.log(JSON.stringify({ read, login })); return c.end().catch(() => {}); });
    `;
    const other = await run('runuser', ['-u', 'nobody', '--', process.execPath, '-e', probe], { cwd: '/' });
    const seen = JSON.parse(other.stdout.trim()) as { read: string; login: string };
    expect(seen.read).toBe('EACCES');
    expect(seen.login).not.toBe('in');
  });

  it('after kill -9 of chitti start, the next start stops the orphaned PostgreSQL, says so, and tokens survive', {
    timeout: 180_000,
  }, async () => {
    const adminKey = (await readFile(join(dataDir, 'admin-api-key'), 'utf8')).trim();
    const tokenResponse = await fetch(`${url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: adminKey }),
    });
    const { accessToken } = (await tokenResponse.json()) as { accessToken: string };
    const orphan = await serverPid();
    expect(isRunning(orphan)).toBe(true);

    chitti!.child.kill('SIGKILL');
    await once(chitti!.child, 'exit');
    expect(isRunning(orphan)).toBe(true); // nobody stopped the server: it is orphaned now

    chitti = startChitti(['start'], env);
    await waitUntilReady(url, chitti);
    expect(chitti.output()).toMatch(/found an orphaned embedded PostgreSQL of this data folder.*stopping it/);
    expect(chitti.output()).toMatch(/orphaned embedded PostgreSQL stopped/);
    expect(isRunning(orphan)).toBe(false);
    expect(await serverPid()).not.toBe(orphan);
    // Same generated key ring after the restart: the token issued before the crash still verifies.
    const after = await fetch(`${url}/v1/files?limit=1`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(after.status).toBe(200);
  });

  it('a second chitti start on the same data folder is refused with the owner named, and the owner keeps running', async () => {
    const second = await runChitti(['start'], { ...env, PORT: String(await freePort()) });
    expect(second.code).toBe(3);
    expect(second.output).toMatch(new RegExp(`in use by Chitti process ${chitti!.child.pid}`));
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);
  });

  it('a taken port is named with the variable that moves it', async () => {
    const elsewhere = await mkdtemp(join(tmpdir(), 'chitti-e2e-clash-'));
    await chmod(elsewhere, 0o711);
    const blocker: Server = createServer();
    try {
      // The embedded PostgreSQL port of the running instance.
      const pgClash = await runChitti(['start'], {
        ...env,
        CHITTI_DATA_DIR: join(elsewhere, 'a'),
        PORT: String(await freePort()),
      });
      expect(pgClash.code).toBe(3);
      expect(pgClash.output).toMatch(
        new RegExp(`port ${pgPort} for the embedded PostgreSQL is in use.*EMBEDDED_PG_PORT`),
      );

      // The API port, held by some other program.
      blocker.listen(0, '127.0.0.1');
      await once(blocker, 'listening');
      const apiPort = (blocker.address() as { port: number }).port;
      const apiClash = await runChitti(['start'], {
        ...env,
        CHITTI_DATA_DIR: join(elsewhere, 'b'),
        PORT: String(apiPort),
        EMBEDDED_PG_PORT: String(await freePort()),
      });
      expect(apiClash.code).toBe(3);
      expect(apiClash.output).toMatch(new RegExp(`port ${apiPort} on 127\\.0\\.0\\.1 is in use.*PORT`));
      // It stopped the embedded server it had started.
      await expect(readFile(join(elsewhere, 'b', 'postgres', 'postmaster.pid'))).rejects.toThrow(/ENOENT/);
    } finally {
      blocker.close();
      await rm(elsewhere, { recursive: true, force: true });
    }
  }, 240_000);
});
