import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import type { ApiDependencies, ApiOptions } from '../../api/dependencies.js';
import { InMemoryRateLimiter } from '../../infra/rate-limit/in-memory.js';
import {
  type Backend,
  backendDependencies,
  KEY_A,
  listen,
  type ServerUnderTest,
  startBackend,
} from './support/harness.js';

/** Security headers on every response and the CORS allow-list; the routes need only the backend. */
let backend: Backend;
let deps: ApiDependencies;
const servers: ServerUnderTest[] = [];

beforeAll(async () => {
  backend = await startBackend();
  deps = backendDependencies(backend, new InMemoryRateLimiter()) as unknown as ApiDependencies;
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await backend?.close();
});

async function serve(options: Partial<ApiOptions> = {}): Promise<string> {
  const server = await listen({ ...deps, rateLimiter: new InMemoryRateLimiter() }, { jwtKeys: [KEY_A], ...options });
  servers.push(server);
  return server.url;
}

const APP = 'https://inspect.example.com';

describe('security headers', () => {
  it('sends CSP, nosniff, Referrer-Policy and frame denial on successes and errors alike', async () => {
    const url = await serve();
    const responses = [
      await fetch(`${url}/health/live`),
      await fetch(`${url}/openapi.json`),
      await fetch(`${url}/v1/files`),
      await fetch(`${url}/v1/nothing-here`),
      await fetch(`${url}/v1/files/%ff`, { headers: { authorization: 'Bearer x.y.z' } }),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 200, 401, 404, 401]);
    for (const response of responses) {
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('strict-transport-security')).toBeNull();
    }
  });

  it('sends HSTS only when a trusted proxy says the request came over TLS', async () => {
    const direct = await serve();
    const spoofed = await fetch(`${direct}/health/live`, { headers: { 'x-forwarded-proto': 'https' } });
    expect(spoofed.headers.get('strict-transport-security')).toBeNull();

    const proxied = await serve({ trustProxy: 'loopback' });
    const overTls = await fetch(`${proxied}/health/live`, { headers: { 'x-forwarded-proto': 'https' } });
    expect(overTls.headers.get('strict-transport-security')).toMatch(/^max-age=\d{8,}; includeSubDomains$/);
    const overHttp = await fetch(`${proxied}/health/live`, { headers: { 'x-forwarded-proto': 'http' } });
    expect(overHttp.headers.get('strict-transport-security')).toBeNull();
  });
});

describe('HSTS over TLS', () => {
  it('sends HSTS on a request that arrived over TLS itself', async () => {
    // A throwaway self-signed certificate, made for this run.
    const dir = await mkdtemp(join(tmpdir(), 'chitti-tls-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      );
      const app = createApp({ ...deps, rateLimiter: new InMemoryRateLimiter() }, { jwtKeys: [KEY_A] });
      const server = createServer(
        { key: await readFile(join(dir, 'key.pem')), cert: await readFile(join(dir, 'cert.pem')) },
        app,
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const { port } = server.address() as AddressInfo;
        const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port, path: '/health/live', rejectUnauthorized: false }, (res) => {
            res.resume();
            resolve(res.headers);
          });
          req.on('error', reject);
          req.end();
        });
        expect(headers['strict-transport-security']).toMatch(/^max-age=\d{8,}; includeSubDomains$/);
        expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('CORS', () => {
  it('sends no CORS header at all by default', async () => {
    const url = await serve();
    const response = await fetch(`${url}/health/live`, { headers: { origin: APP } });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${url}/v1/files`, {
      method: 'OPTIONS',
      headers: { origin: APP, 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-methods')).toBeNull();
  });

  it('answers listed origins, preflights included, and nobody else', async () => {
    const url = await serve({ corsOrigins: [APP, 'http://localhost:5173'] });
    const allowed = await fetch(`${url}/v1/files`, { headers: { origin: APP } });
    expect(allowed.status).toBe(401);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(APP);
    expect(allowed.headers.get('access-control-expose-headers')).toContain('X-Correlation-Id');
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
    expect(allowed.headers.get('vary')).toMatch(/Origin/);

    const preflight = await fetch(`${url}/v1/files`, {
      method: 'OPTIONS',
      headers: {
        origin: APP,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, idempotency-key, content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(APP);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Authorization.*Idempotency-Key/);

    for (const origin of ['https://evil.example.com', `${APP}.evil.com`, 'null']) {
      const other = await fetch(`${url}/v1/files`, { headers: { origin } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      const otherPreflight = await fetch(`${url}/v1/files`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
      expect(otherPreflight.headers.get('access-control-allow-origin')).toBeNull();
    }
  });
});
