import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiDependencies } from '../../api/dependencies.js';
import type { RateLimiter } from '../../api/ports/rate-limiter.js';
import { InMemoryRateLimiter } from '../../infra/rate-limit/in-memory.js';
import {
  type Backend,
  bearer,
  type FullApi,
  json,
  KEY_A,
  KEY_B,
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
let deps: ApiDependencies;
let limiter: RateLimiter;

beforeAll(async () => {
  limiter = new InMemoryRateLimiter();
  api = await startFullApi({ jwtKeys: [KEY_A], maxImagePixels: 10_000_000 }, limiter);
  ({ backend, deps, server } = api);
});

afterAll(() => api?.close());

describe('problem details', () => {
  it('answers an unknown route with a 404 problem carrying the correlation id', async () => {
    const response = await fetch(`${server.url}/v1/nothing-here`, { headers: { 'x-correlation-id': 'corr-123' } });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.headers.get('x-correlation-id')).toBe('corr-123');
    const problem = await json(response);
    expect(problem).toMatchObject({
      type: 'https://chitti.dev/problems/not-found',
      title: 'Not found',
      status: 404,
      instance: '/v1/nothing-here',
      correlationId: 'corr-123',
    });
  });

  it('replaces an unusable correlation id with a generated one', async () => {
    const response = await fetch(`${server.url}/health/live`, {
      headers: { 'x-correlation-id': 'bad id with spaces' },
    });
    expect(response.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses anonymous calls with 401 and a Bearer challenge', async () => {
    const response = await fetch(`${server.url}/v1/files`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(await json(response)).toMatchObject({ status: 401, type: 'https://chitti.dev/problems/unauthenticated' });
  });
});

describe('authentication', () => {
  it('exchanges a valid API key for tokens that authenticate, and rejects a wrong secret', async () => {
    const user = await seedUser(backend, ['operator']);
    const tokens = await tokensFor(server.url, user.apiKey);
    // Authenticated and authorised: the request reaches validation (400), not 401/403.
    const response = await fetch(`${server.url}/v1/files?limit=0`, { headers: bearer(tokens.accessToken) });
    expect(response.status).toBe(400);
    expect((await json(response)).errors[0].pointer).toBe('query/limit');

    const wrong = user.apiKey.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    const denied = await fetch(`${server.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: wrong }),
    });
    expect(denied.status).toBe(401);
  });

  it('rejects an expired API key', async () => {
    const user = await seedUser(backend, ['viewer'], { expiresAt: '2020-01-01T00:00:00Z' });
    const response = await fetch(`${server.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: user.apiKey }),
    });
    expect(response.status).toBe(401);
    expect((await json(response)).detail).toMatch(/expired/);
  });

  it('rejects an expired access token', async () => {
    const user = await seedUser(backend, ['viewer']);
    const expired = ringOf([KEY_A]).sign('access', user.userId, { roles: ['viewer'], akid: user.keyId }, -10);
    const response = await fetch(`${server.url}/v1/files`, { headers: bearer(expired.token) });
    expect(response.status).toBe(401);
    expect((await json(response)).detail).toMatch(/expired/);
  });

  it('rejects a token signed with a key id the ring does not list', async () => {
    const stranger = ringOf([{ kid: 'unknown-kid', secret: KEY_A.secret }]).sign(
      'access',
      'u',
      { roles: ['admin'] },
      60,
    );
    const response = await fetch(`${server.url}/v1/files`, { headers: bearer(stranger.token) });
    expect(response.status).toBe(401);
    expect((await json(response)).detail).toMatch(/unknown key/);
  });

  it('rejects a refresh token used as an access token', async () => {
    const user = await seedUser(backend, ['viewer']);
    const tokens = await tokensFor(server.url, user.apiKey);
    const response = await fetch(`${server.url}/v1/files`, { headers: bearer(tokens.refreshToken) });
    expect(response.status).toBe(401);
  });

  it('after rotation, tokens signed by the previous key still verify and new ones use the new kid', async () => {
    const rotated = await listen(deps, { jwtKeys: [KEY_B, KEY_A] });
    try {
      const user = await seedUser(backend, ['viewer']);
      const old = await tokensFor(server.url, user.apiKey);
      const viaOldKey = await fetch(`${rotated.url}/v1/files?limit=0`, { headers: bearer(old.accessToken) });
      expect(viaOldKey.status).toBe(400);
      const fresh = await tokensFor(rotated.url, user.apiKey);
      const header = JSON.parse(Buffer.from(fresh.accessToken.split('.')[0]!, 'base64url').toString());
      expect(header).toMatchObject({ alg: 'HS256', kid: KEY_B.kid });
      // The original server (key A only) does not know kid B.
      const unknown = await fetch(`${server.url}/v1/files`, { headers: bearer(fresh.accessToken) });
      expect(unknown.status).toBe(401);
    } finally {
      await rotated.close();
    }
  });

  it('rotates refresh tokens and revokes the family when one is reused', async () => {
    const user = await seedUser(backend, ['viewer']);
    const first = await tokensFor(server.url, user.apiKey);
    const refresh = (token: string) =>
      fetch(`${server.url}/auth/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken: token }),
      });
    const second = await refresh(first.refreshToken);
    expect(second.status).toBe(200);
    const secondTokens = await json(second);
    expect(secondTokens.refreshToken).not.toBe(first.refreshToken);

    const reuse = await refresh(first.refreshToken);
    expect(reuse.status).toBe(401);
    expect((await json(reuse)).detail).toMatch(/already used/);
    // The reuse revoked the whole family, including the token issued by the legitimate rotation.
    const afterReuse = await refresh(secondTokens.refreshToken);
    expect(afterReuse.status).toBe(401);
  });
});

describe('authorisation', () => {
  it('forbids a viewer to upload and a viewer to export the audit log', async () => {
    const viewer = await seedUser(backend, ['viewer']);
    const { accessToken } = await tokensFor(server.url, viewer.apiKey);
    const upload = await fetch(`${server.url}/v1/files`, {
      method: 'POST',
      headers: { ...bearer(accessToken), 'content-type': 'image/png' },
      body: Buffer.from('x'),
    });
    expect(upload.status).toBe(403);
    expect((await json(upload)).detail).toMatch(/files:write/);
  });

  it('lets an operator past the upload permission check (to validation)', async () => {
    const operator = await seedUser(backend, ['operator']);
    const { accessToken } = await tokensFor(server.url, operator.apiKey);
    const upload = await fetch(`${server.url}/v1/files`, {
      method: 'POST',
      headers: { ...bearer(accessToken), 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(upload.status).toBe(415);
  });
});

describe('request logging', () => {
  it('writes structured lines without the Authorization header or API keys', async () => {
    const user = await seedUser(backend, ['viewer']);
    const { accessToken } = await tokensFor(server.url, user.apiKey);
    await fetch(`${server.url}/v1/files?limit=0`, {
      headers: { ...bearer(accessToken), 'x-correlation-id': 'log-check' },
    });
    const line = backend.logLines.map((l) => JSON.parse(l)).find((l) => l.correlationId === 'log-check');
    expect(line).toMatchObject({
      req: { method: 'GET', route: '/v1/files' },
      res: { statusCode: 400 },
      principal: user.userId,
    });
    const all = backend.logLines.join('\n');
    expect(all).not.toContain(accessToken);
    expect(all).not.toContain(user.apiKey.split('_')[2]);
  });
});
