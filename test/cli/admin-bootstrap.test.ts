import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseApiKey, secretMatches } from '../../api/auth/api-key.js';
import { loadUser } from '../../commands/index.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { isolatedEnv, runChitti } from '../e2e/support.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';

/** `chitti admin bootstrap` against a distributed install's database (no `chitti start` ever ran). */
// Each case starts `chitti` processes (node + tsx): slow on a loaded 2-core machine, hence the timeout.
describe('chitti admin bootstrap', { timeout: 240_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let store: PostgresEventStore;
  let dataDir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    db = await createTestDatabase('chitti_admin');
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    store = new PostgresEventStore(pool);
    dataDir = await mkdtemp(join(tmpdir(), 'chitti-admin-'));
    env = isolatedEnv({ DATABASE_URL: db.url, CHITTI_DATA_DIR: dataDir, LOG_LEVEL: 'info' });
  });

  afterAll(async () => {
    await store?.close();
    await pool?.end();
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const eventCount = async () => Number((await pool.query('SELECT count(*) AS n FROM events')).rows[0].n);
  const resultOf = (output: string) =>
    JSON.parse(output.split('\n').find((line) => line.startsWith('{"outcome"')) ?? 'null') as Record<string, unknown>;
  /** The key in a file authenticates as the admin: its secret matches the hash the log recorded. */
  const keyIsAdmins = async (path: string) => {
    const parsed = parseApiKey((await readFile(path, 'utf8')).trim());
    const user = await loadUser({ store }, 'admin');
    if (!parsed || user.state.status !== 'registered') return false;
    const recorded = user.state.apiKeys[parsed.keyId];
    return (
      user.state.roles.includes('admin') &&
      !!recorded &&
      !recorded.revoked &&
      secretMatches(parsed.secret, recorded.secretSha256)
    );
  };

  it('creates the admin and a key in a new 0600 file, prints no secret, and a repeat records nothing', async () => {
    const first = await runChitti(['admin', 'bootstrap'], env);
    expect(first.code, first.output).toBe(0);
    const keyFile = join(dataDir, 'admin-api-key');
    expect(resultOf(first.output)).toMatchObject({ outcome: 'created', userId: 'admin', keyFile });
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(await keyIsAdmins(keyFile)).toBe(true);
    const token = (await readFile(keyFile, 'utf8')).trim();
    expect(first.output).not.toContain(parseApiKey(token)!.secret);

    const events = await eventCount();
    const again = await runChitti(['admin', 'bootstrap'], env);
    expect(again.code, again.output).toBe(0);
    expect(resultOf(again.output)).toMatchObject({ outcome: 'already-bootstrapped', activeKeys: 1 });
    expect(await eventCount()).toBe(events);
    expect((await readFile(keyFile, 'utf8')).trim()).toBe(token);
  });

  it('never overwrites a key file: --new-key onto an existing path is refused (exit 2) before anything is recorded', async () => {
    const taken = join(dataDir, 'taken');
    await writeFile(taken, 'someone else\n');
    const events = await eventCount();
    const refused = await runChitti(['admin', 'bootstrap', '--new-key', '--key-file', taken], env);
    expect(refused.code, refused.output).toBe(2);
    expect(refused.output).toContain(`${taken} exists`);
    expect(await readFile(taken, 'utf8')).toBe('someone else\n');
    expect(await eventCount()).toBe(events);
  });

  it('--new-key issues one more admin key (a lost file); the first stays valid', async () => {
    const second = join(dataDir, 'second-key');
    const issued = await runChitti(['admin', 'bootstrap', '--new-key', '--key-file', second], env);
    expect(issued.code, issued.output).toBe(0);
    expect(resultOf(issued.output)).toMatchObject({ outcome: 'new-key', keyFile: second });
    expect(await keyIsAdmins(second)).toBe(true);
    expect(await keyIsAdmins(join(dataDir, 'admin-api-key'))).toBe(true);
  });

  it('a wrong invocation is a usage error', async () => {
    const wrong = await runChitti(['admin', 'bootstrapp'], env);
    expect(wrong.code).toBe(2);
    expect(wrong.output).toContain('chitti admin bootstrap');
  });
});
