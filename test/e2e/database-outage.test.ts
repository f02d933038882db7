import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../../infra/embedded-postgres.js';
import { createLogger } from '../../infra/logging.js';
import { type ChittiProcess, freePort, isolatedEnv, startChitti, until, waitUntilReady } from './support.js';

const logger = createLogger({ level: 'warn', name: 'outage-test-postgres' });

/**
 * `chitti start` against a PostgreSQL cluster of its own (not the shared server other suites
 * use), which the test stops and starts again under the running process.
 */
describe('a database outage under a running Chitti', () => {
  let pgDir: string;
  let chittiDir: string;
  let pgPort: number;
  let database: EmbeddedDatabase | undefined;
  let chitti: ChittiProcess | undefined;
  let url: string;
  const statuses: number[] = [];

  beforeAll(async () => {
    pgDir = await mkdtemp(join(tmpdir(), 'chitti-outage-pg-'));
    chittiDir = await mkdtemp(join(tmpdir(), 'chitti-outage-'));
    await chmod(pgDir, 0o711); // as root the server runs as `postgres`, which must pass through it
    pgPort = await freePort();
    database = await startEmbeddedPostgres({ dataDir: pgDir, port: pgPort, logger });
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    chitti = startChitti(
      ['start'],
      isolatedEnv({ DATABASE_URL: database.url, CHITTI_DATA_DIR: chittiDir, PORT: String(port), LOG_LEVEL: 'warn' }),
    );
    await waitUntilReady(url, chitti, 180_000);
  }, 240_000);

  afterAll(async () => {
    await chitti?.stop('SIGTERM');
    await database?.stop();
    await rm(pgDir, { recursive: true, force: true });
    await rm(chittiDir, { recursive: true, force: true });
  });

  const call = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${url}${path}`, init).catch((error: unknown) => {
      throw new Error(
        `${path}: ${String(error)}; chitti ${chitti?.child.exitCode === null ? 'runs' : 'exited'}:\n${chitti?.output()}`,
      );
    });
    statuses.push(response.status);
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.text() };
  };
  const token = async () => {
    const apiKey = (await readFile(join(chittiDir, 'admin-api-key'), 'utf8')).trim();
    return call('/auth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey }),
    });
  };
  const ready = async () => call('/health/ready');

  it('answers 503 with Retry-After and not-ready while PostgreSQL is down, and recovers by itself', async () => {
    const first = await token();
    expect(first.status, first.body).toBe(200);
    const bearer = { authorization: `Bearer ${(JSON.parse(first.body) as { accessToken: string }).accessToken}` };

    // A live event stream opened before the outage must go on delivering after it.
    const stream = await fetch(`${url}/v1/events/stream`, { headers: bearer });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    let received = '';
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        received += new TextDecoder().decode(value);
      }
    })().catch(() => undefined);

    await database!.stop();
    database = undefined;

    const tokenDuringOutage = await until('POST /auth/token to answer 503', async () => {
      const answer = await token();
      return answer.status === 503 ? answer : undefined;
    });
    expect(tokenDuringOutage.retryAfter).toMatch(/^\d+$/);
    expect(JSON.parse(tokenDuringOutage.body)).toMatchObject({
      status: 503,
      type: expect.stringContaining('unavailable'),
    });
    const listDuringOutage = await call('/v1/files', { headers: bearer });
    expect(listDuringOutage.status, listDuringOutage.body).toBe(503);
    expect(listDuringOutage.retryAfter).toMatch(/^\d+$/);
    const writeDuringOutage = await call('/v1/files/00000000-0000-7000-8000-000000000000/tags', {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify({ add: ['x'] }),
    });
    expect(writeDuringOutage.status, writeDuringOutage.body).toBe(503);
    const notReady = await until('readiness to report the subscriptions not running', async () => {
      const answer = await ready();
      const body = JSON.parse(answer.body) as { checks: { name: string; ok: boolean }[] };
      return answer.status === 503 && body.checks.some((c) => c.name === 'subscriptions' && !c.ok) ? body : undefined;
    });
    expect(notReady.checks.find((c) => c.name === 'postgres')?.ok).toBe(false);

    database = await startEmbeddedPostgres({ dataDir: pgDir, port: pgPort, logger });

    // No restart of Chitti: readiness comes back, then the token endpoint works again.
    await until('readiness after the database is back', async () =>
      (await ready()).status === 200 ? true : undefined,
    );
    const again = await until('POST /auth/token to work again', async () => {
      const answer = await token();
      return answer.status === 200 ? answer : undefined;
    });
    const fresh = { authorization: `Bearer ${(JSON.parse(again.body) as { accessToken: string }).accessToken}` };
    const list = await call('/v1/files', { headers: fresh });
    expect(list.status, list.body).toBe(200);

    // The event stream resumes: an event recorded now reaches the connection opened before the outage.
    const users = await call('/v1/users', {
      method: 'POST',
      headers: { ...fresh, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'after-outage@example.test', displayName: 'After Outage', roles: ['viewer'] }),
    });
    expect(users.status, users.body).toBe(201);
    const { userId } = JSON.parse(users.body) as { userId: string };
    await until('the event stream to deliver an event recorded after the outage', async () =>
      received.includes(userId) ? true : undefined,
    );
    await reader.cancel();
    await reading;

    expect(statuses.filter((s) => s >= 500 && s !== 503)).toEqual([]);
  }, 300_000);
});
