import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REVOCATION_STALENESS_MS } from '../../api/auth/access-guard.js';
import { LogIdentityDirectory } from '../../api/stores/log-identity-directory.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { freePort } from '../e2e/support.js';
import {
  type Backend,
  bearer,
  type FullApi,
  json,
  KEY_A,
  listen,
  ringOf,
  type ServerUnderTest,
  seedUser,
  startFullApi,
  tokensFor,
} from './support/harness.js';

let api: FullApi;
let backend: Backend;
let server: ServerUnderTest;
let adminToken: string;

beforeAll(async () => {
  api = await startFullApi({ jwtKeys: [KEY_A] });
  ({ backend, server } = api);
  adminToken = (await tokensFor(server.url, (await seedUser(backend, ['admin'])).apiKey)).accessToken;
});

afterAll(() => api?.close());

/** A read every role may make: 200 while the token holds, 401 once it does not. */
const read = (token: string, scheme = 'Bearer') =>
  fetch(`${server.url}/v1/files?limit=1`, { headers: { authorization: `${scheme} ${token}` } });

const post = (path: string, body: unknown) =>
  fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/**
 * The contract: a request that starts REVOCATION_STALENESS_MS after the revocation committed is
 * refused. Waiting out that window is the promise under test, not a synchronisation guess: however
 * slow the machine, the first request after it must already see the revocation.
 */
async function firstRequestAfterTheWindow(revoke: () => Promise<Response>, token: string) {
  const revoked = await revoke();
  expect(revoked.status, await revoked.clone().text()).toBe(200);
  await sleep(REVOCATION_STALENESS_MS);
  return read(token);
}

describe('revocation bites within a second', () => {
  it('an API key revoked by an admin stops its access tokens, and refreshes', async () => {
    const user = await seedUser(backend, ['operator']);
    const tokens = await tokensFor(server.url, user.apiKey);
    expect((await read(tokens.accessToken)).status).toBe(200);
    const after = await firstRequestAfterTheWindow(
      () =>
        fetch(`${server.url}/v1/users/${user.userId}/api-keys/${user.keyId}`, {
          method: 'DELETE',
          headers: bearer(adminToken),
        }),
      tokens.accessToken,
    );
    expect(after.status).toBe(401);
    expect((await json(after)).detail).toMatch(/API key of this token has been revoked/);
    expect((await post('/auth/refresh', { refreshToken: tokens.refreshToken })).status).toBe(401);
  });

  it('a revoked role stops the tokens that claim it; a refresh carries the remaining roles', async () => {
    const user = await seedUser(backend, ['operator', 'reviewer']);
    const tokens = await tokensFor(server.url, user.apiKey);
    expect((await read(tokens.accessToken)).status).toBe(200);
    const after = await firstRequestAfterTheWindow(
      () =>
        fetch(`${server.url}/v1/users/${user.userId}/roles/reviewer`, {
          method: 'DELETE',
          headers: bearer(adminToken),
        }),
      tokens.accessToken,
    );
    expect(after.status).toBe(401);
    expect((await json(after)).detail).toMatch(/role of this token has been revoked/);
    const refreshed = await post('/auth/refresh', { refreshToken: tokens.refreshToken });
    expect(refreshed.status).toBe(200);
    const { accessToken } = await json(refreshed);
    const claims = JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString());
    expect(claims.roles).toEqual(['operator']);
    expect((await read(accessToken)).status).toBe(200);
  });

  it('an ended session (logout) stops its access and refresh tokens, not the other sessions of the key', async () => {
    const user = await seedUser(backend, ['viewer']);
    const ending = await tokensFor(server.url, user.apiKey);
    const other = await tokensFor(server.url, user.apiKey);
    expect((await read(ending.accessToken)).status).toBe(200);
    const after = await firstRequestAfterTheWindow(
      () => post('/auth/logout', { refreshToken: ending.refreshToken }),
      ending.accessToken,
    );
    expect(after.status).toBe(401);
    expect((await json(after)).detail).toMatch(/session of this token has ended/);
    expect((await post('/auth/refresh', { refreshToken: ending.refreshToken })).status).toBe(401);
    expect((await read(other.accessToken)).status).toBe(200);
    // Ending it again is harmless; a forged refresh token is not a session.
    expect((await post('/auth/logout', { refreshToken: ending.refreshToken })).status).toBe(200);
    expect((await post('/auth/logout', { refreshToken: 'x.y.z' })).status).toBe(401);
  });

  it('a session revoked by refresh-token reuse stops the access tokens of the whole family', async () => {
    const user = await seedUser(backend, ['viewer']);
    const first = await tokensFor(server.url, user.apiKey);
    const rotated = await post('/auth/refresh', { refreshToken: first.refreshToken });
    expect(rotated.status).toBe(200);
    const { accessToken } = await json(rotated);
    expect((await read(accessToken)).status).toBe(200);
    const reuse = await post('/auth/refresh', { refreshToken: first.refreshToken });
    expect(reuse.status).toBe(401);
    await sleep(REVOCATION_STALENESS_MS);
    expect((await read(accessToken)).status).toBe(401);
    expect((await read(first.accessToken)).status).toBe(401);
  });
});

describe('responses that stay open', () => {
  it('an event stream opened with a token is cut once the token is revoked', async () => {
    const user = await seedUser(backend, ['auditor']);
    const { accessToken } = await tokensFor(server.url, user.apiKey);
    const stream = await fetch(`${server.url}/v1/events/stream`, {
      headers: bearer(accessToken),
      signal: AbortSignal.timeout(30_000),
    });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    await reader.read(); // the stream's opening lines: it is running
    const revoked = await fetch(`${server.url}/v1/users/${user.userId}/api-keys/${user.keyId}`, {
      method: 'DELETE',
      headers: bearer(adminToken),
    });
    expect(revoked.status).toBe(200);
    // Read until the server ends it; only the 30 s safety timeout would surface as TimeoutError.
    const ended = await (async () => {
      try {
        while (!(await reader.read()).done);
        return 'ended';
      } catch (error) {
        return (error as Error).name === 'TimeoutError' ? 'still open' : 'cut';
      }
    })();
    expect(ended).not.toBe('still open');
    expect((await read(accessToken)).status).toBe(401);
  });
});

describe('tokens that never matched the directory', () => {
  it('refuses a correctly signed token for a user that does not exist or a role the user lacks', async () => {
    const ring = ringOf([KEY_A]);
    const ghost = ring.sign('access', 'nobody-here', { roles: ['admin'], akid: 'no-such-key' }, 600);
    const ghostRead = await read(ghost.token);
    expect(ghostRead.status).toBe(401);
    expect((await json(ghostRead)).detail).toMatch(/user of this token does not exist/);

    const viewer = await seedUser(backend, ['viewer']);
    const elevated = ring.sign('access', viewer.userId, { roles: ['viewer', 'admin'], akid: viewer.keyId }, 600);
    const elevatedRead = await read(elevated.token);
    expect(elevatedRead.status).toBe(401);
    const honest = ring.sign('access', viewer.userId, { roles: ['viewer'], akid: viewer.keyId }, 600);
    expect((await read(honest.token)).status).toBe(200);
    // Another user's key id does not vouch for this user.
    const operator = await seedUser(backend, ['operator']);
    const borrowed = ring.sign('access', viewer.userId, { roles: ['viewer'], akid: operator.keyId }, 600);
    expect((await read(borrowed.token)).status).toBe(401);
  });
});

describe('when the revocation state cannot be read', () => {
  it('fails closed with 503 and Retry-After, never letting the token through unchecked', async () => {
    // A directory following a database nobody listens on.
    const pool = new pg.Pool({ host: '127.0.0.1', port: await freePort(), user: 'postgres', max: 1 });
    pool.on('error', () => undefined);
    const store = new PostgresEventStore(pool, { onListenError: () => undefined });
    const identity = new LogIdentityDirectory(store);
    identity.start();
    const cut = await listen({ ...api.deps, identity }, { jwtKeys: [KEY_A] });
    try {
      const user = await seedUser(backend, ['viewer']);
      const token = ringOf([KEY_A]).sign('access', user.userId, { roles: ['viewer'], akid: user.keyId }, 600);
      const response = await fetch(`${cut.url}/v1/files?limit=1`, { headers: bearer(token.token) });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
    } finally {
      await cut.close();
      await identity.stop().catch(() => undefined);
      await store.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
    }
  });
});

describe('the Authorization scheme', () => {
  it('is case-insensitive (RFC 7235)', async () => {
    const { accessToken } = await tokensFor(server.url, (await seedUser(backend, ['viewer'])).apiKey);
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      expect((await read(accessToken, scheme)).status, scheme).toBe(200);
    }
    expect((await read(accessToken, 'Basic')).status).toBe(401);
  });
});
