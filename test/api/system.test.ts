import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import type { ApiDependencies } from '../../api/dependencies.js';
import { RATE_LIMIT_BOUNDS } from '../../api/ports/rate-limiter.js';
import { apiOptions } from '../../cli/wiring/api.js';
import { loadConfig } from '../../infra/config.js';
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
let deps: ApiDependencies;
let server: ServerUnderTest;

beforeAll(async () => {
  api = await startFullApi({
    jwtKeys: [KEY_A],
    rateLimit: { authenticated: 3, anonymous: 2, windowMs: 60_000 },
  });
  ({ backend, deps, server } = api);
});

afterAll(() => api?.close());

describe('rate limits', () => {
  it('limits anonymous callers per IP and answers 429 with Retry-After', async () => {
    const first = await fetch(`${server.url}/v1/files`);
    expect(first.status).toBe(401);
    expect(first.headers.get('ratelimit-limit')).toBe('2');
    expect(first.headers.get('ratelimit-remaining')).toBe('1');
    expect(first.headers.get('ratelimit-policy')).toBe('2;w=60');
    await fetch(`${server.url}/v1/files`);
    const limited = await fetch(`${server.url}/v1/files`);
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await json(limited)).toMatchObject({ status: 429, type: 'https://chitti.dev/problems/rate-limited' });
  });

  it('limits each principal separately from the anonymous budget, and never limits health checks', async () => {
    // The anonymous budget of this IP is spent by the test above; health stays open.
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
    const user = await seedUser(backend, ['viewer']);
    // The token endpoint is anonymous, and this IP's budget is spent: mint through a server with the default limits.
    const open = await listen(deps, { jwtKeys: [KEY_A] });
    const token = (await tokensFor(open.url, user.apiKey)).accessToken;
    await open.close();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await fetch(`${server.url}/v1/files?limit=0`, { headers: bearer(token) })).status);
    }
    expect(statuses).toEqual([400, 400, 400, 429]);
  });
});

describe('rate limits before authentication', () => {
  const limitedServer = () =>
    listen(
      { ...deps, rateLimiter: new InMemoryRateLimiter() },
      { jwtKeys: [KEY_A], rateLimit: { authenticated: 5, anonymous: 2, windowMs: 60_000 } },
    );

  it('limits requests with a forged, expired or malformed token per address, like anonymous ones', async () => {
    const user = await seedUser(backend, ['viewer']);
    const open = await listen(deps, { jwtKeys: [KEY_A] });
    const token = (await tokensFor(open.url, user.apiKey)).accessToken;
    await open.close();
    const limited = await limitedServer();
    try {
      const forged = ringOf([KEY_B]).sign('access', user.userId, { roles: ['admin'] }, 600).token;
      const expired = ringOf([KEY_A]).sign('access', user.userId, { roles: ['viewer'] }, -60).token;
      const statuses: number[] = [];
      for (const authorization of [`Bearer ${forged}`, `Bearer ${expired}`, 'Basic dXNlcjpwYXNz', `Bearer ${forged}`]) {
        statuses.push((await fetch(`${limited.url}/v1/files`, { headers: { authorization } })).status);
      }
      expect(statuses).toEqual([401, 401, 429, 429]);
      const refused = await fetch(`${limited.url}/v1/files`, { headers: { authorization: `Bearer ${expired}` } });
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await json(refused)).toMatchObject({ status: 429, type: 'https://chitti.dev/problems/rate-limited' });
      // A verified token is limited per principal, not by its address's spent anonymous budget.
      expect((await fetch(`${limited.url}/v1/files?limit=0`, { headers: bearer(token) })).status).toBe(400);
    } finally {
      await limited.close();
    }
  });

  it('limits /health/ready per address in a bucket of its own; /health/live never', async () => {
    const limited = await limitedServer();
    try {
      const ready: number[] = [];
      for (let i = 0; i < 3; i++) ready.push((await fetch(`${limited.url}/health/ready`)).status);
      expect(ready).toEqual([200, 200, 429]);
      expect((await fetch(`${limited.url}/v1/files`)).status).toBe(401);
      for (let i = 0; i < 4; i++) expect((await fetch(`${limited.url}/health/live`)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('refuses at start a limit the limiter cannot take, instead of answering every request with 500', () => {
    expect(() =>
      createApp(deps, { jwtKeys: [KEY_A], rateLimit: { authenticated: 100_000_000, anonymous: 60, windowMs: 60_000 } }),
    ).toThrow(/authenticated must be an integer in 1\.\.1000000/);
  });

  it('serves every request under the largest limits a configuration can load', async () => {
    const config = loadConfig({
      RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT_BOUNDS.maxLimit),
      RATE_LIMIT_ANONYMOUS_PER_MINUTE: String(RATE_LIMIT_BOUNDS.maxLimit),
    });
    const user = await seedUser(backend, ['viewer']);
    const largest = await listen(
      { ...deps, rateLimiter: new InMemoryRateLimiter() },
      {
        ...apiOptions(config, [KEY_A]),
      },
    );
    try {
      const token = (await tokensFor(largest.url, user.apiKey)).accessToken;
      expect((await fetch(`${largest.url}/v1/files`, { headers: bearer(token) })).status).toBe(200);
    } finally {
      await largest.close();
    }
  });
});

describe('health, metrics and OpenAPI', () => {
  it('reports readiness per dependency and 503 when one fails', async () => {
    const ready = await fetch(`${server.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await json(ready)).toMatchObject({ status: 'ready', checks: [{ name: 'postgres', ok: true }] });

    const failing = await listen(
      {
        ...deps,
        healthChecks: [...deps.healthChecks, { name: 'kafka', check: () => Promise.reject(new Error('no brokers')) }],
      },
      { jwtKeys: [KEY_A] },
    );
    try {
      const response = await fetch(`${failing.url}/health/ready`);
      expect(response.status).toBe(503);
      expect((await json(response)).checks).toContainEqual(
        expect.objectContaining({ name: 'kafka', ok: false, error: 'no brokers' }),
      );
    } finally {
      await failing.close();
    }
  });

  it('keeps /metrics off the API port; the registry behind the metrics port still counts requests', async () => {
    const fresh = await listen({ ...deps, rateLimiter: new InMemoryRateLimiter() }, { jwtKeys: [KEY_A] });
    try {
      const response = await fetch(`${fresh.url}/metrics`);
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    } finally {
      await fresh.close();
    }
    expect(await deps.metrics.metrics()).toMatch(
      /chitti_http_requests_total\{method="GET",route="\/v1\/files",status="401"\} \d+/,
    );
  });

  it('answers /health/ready from one round of checks per period, however many probes arrive', async () => {
    let runs = 0;
    const counted = { name: 'counted', check: async () => void runs++ };
    const probe = (cacheMs: number) =>
      listen(
        { ...deps, rateLimiter: new InMemoryRateLimiter(), healthChecks: [counted] },
        { jwtKeys: [KEY_A], readinessCacheMs: cacheMs },
      );
    const cached = await probe(60_000);
    try {
      const answers = await Promise.all(Array.from({ length: 6 }, () => fetch(`${cached.url}/health/ready`)));
      for (let i = 0; i < 4; i++) answers.push(await fetch(`${cached.url}/health/ready`));
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
      expect(runs).toBe(1);
    } finally {
      await cached.close();
    }
    // Once the period is over the checks run again.
    runs = 0;
    const brief = await probe(1);
    try {
      const deadline = Date.now() + 10_000;
      while (runs < 2 && Date.now() < deadline) expect((await fetch(`${brief.url}/health/ready`)).status).toBe(200);
      expect(runs).toBeGreaterThanOrEqual(2);
    } finally {
      await brief.close();
    }
  });

  it('serves a browsable API reference at /docs from the package, reading the same /openapi.json', async () => {
    const page = await fetch(`${server.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    // Nothing from a CDN: every script and style is served by the API itself.
    expect(html).not.toMatch(/(src|href)="https?:/);
    for (const asset of ['/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui.css', '/docs/init.js']) {
      expect(html).toContain(asset);
      const response = await fetch(`${server.url}${asset}`);
      expect(response.status, asset).toBe(200);
    }
    expect(await (await fetch(`${server.url}/docs/assets/swagger-ui-bundle.js`)).text()).toContain('SwaggerUIBundle');
    expect(await (await fetch(`${server.url}/docs/init.js`)).text()).toContain("url: '/openapi.json'");
  });

  it('gives the inspection, verdict and profile reads real response schemas', async () => {
    const document = await json(await fetch(`${server.url}/openapi.json`));
    const schemaOf = (path: string) => document.paths[path].get.responses['200'].content['application/json'].schema;
    const inspection = schemaOf('/v1/inspections/{inspectionId}').anyOf[0];
    expect(inspection.properties.verdict.anyOf[0].properties.verdict.enum).toEqual([
      'accept',
      'reject',
      'indeterminate',
    ]);
    expect(inspection.properties.detections.items.properties.box.required).toEqual(['x1', 'y1', 'x2', 'y2']);
    expect(schemaOf('/v1/inspections').properties.items.items.properties.reportsIssued.type).toBe('integer');
    const verdict = schemaOf('/v1/inspections/{inspectionId}/evaluations').properties.items.items;
    expect(verdict.properties.rules.items.properties.outcome.enum).toEqual(['pass', 'fail', 'indeterminate']);
    expect(schemaOf('/v1/acceptance-profiles/{profileId}').properties.revisions.type).toBe('array');
    const report = document.paths['/v1/inspections/{inspectionId}/report'].get;
    expect(report.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['format', 'asOf']));
  });

  it('serves an OpenAPI 3.1 document listing every route with its schemas', async () => {
    const response = await fetch(`${server.url}/openapi.json`);
    expect(response.status).toBe(200);
    const document = await json(response);
    expect(document.openapi).toBe('3.1.0');
    const operations = Object.entries(
      document.paths as Record<string, Record<string, { operationId: string }>>,
    ).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => `${method.toUpperCase()} ${path} ${op.operationId}`),
    );
    for (const expected of [
      'POST /auth/token exchangeApiKey',
      'POST /auth/refresh refreshTokens',
      'POST /v1/files uploadFile',
      'GET /v1/files/{fileId} getFile',
      'POST /v1/inspections requestInspection',
      'GET /v1/inspections/{inspectionId} getInspection',
      'POST /v1/inspections/{inspectionId}/detections/{detectionId}/review reviewDetection',
      'GET /v1/detections searchDetections',
      'POST /v1/models/{name}/versions registerModelVersion',
      'POST /v1/models/{name}/deployments deployModel',
      'POST /v1/models/{name}/rollback rollbackModel',
      'POST /v1/users/{userId}/api-keys issueApiKey',
      'GET /v1/audit/export exportEvents',
      'GET /v1/audit/verify verifyAudit',
      'GET /v1/stats/daily-defects dailyDefects',
      'GET /v1/events/stream streamEvents',
    ]) {
      expect(operations).toContain(expected);
    }
    const close = document.paths['/v1/inspections/{inspectionId}/close'].post;
    expect(close.requestBody.content['application/json'].schema.properties.outcome.enum).toEqual([
      'accepted',
      'rejected',
      'inconclusive',
    ]);
    expect(close.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['inspectionId', 'Idempotency-Key', 'If-Match']),
    );
    expect(document.paths['/v1/files'].post.requestBody.content['image/png'].schema.format).toBe('binary');
    expect(document.components.schemas.Problem.required).toEqual(['type', 'title', 'status']);
    const ids = operations.map((o) => o.split(' ')[2]);
    expect(new Set(ids).size).toBe(ids.length);
    // Every $ref points at a component that exists.
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(document.components.schemas[ref!]).toBeDefined();
  });
});
