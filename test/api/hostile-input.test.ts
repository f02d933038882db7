import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type FullApi, json, KEY_A, seedUser, startFullApi, tokensFor } from './support/harness.js';

/** Each cause of a 5xx the security review found, answered now with a 4xx problem and nothing written. */
let api: FullApi;
let url: string;
let auth: Record<string, string>;
let adminId: string;

beforeAll(async () => {
  api = await startFullApi({ jwtKeys: [KEY_A] });
  url = api.server.url;
  const admin = await seedUser(api.backend, ['admin']);
  adminId = admin.userId;
  auth = bearer((await tokensFor(url, admin.apiKey)).accessToken);
});

afterAll(() => api?.close());

/** Sends the request and checks it was refused with `status` as problem JSON, appending no event. */
async function refused(path: string, init: RequestInit, status: number) {
  const head = await api.backend.store.headPosition();
  const response = await fetch(`${url}${path}`, { ...init, headers: { ...auth, ...(init.headers ?? {}) } });
  expect(response.status, `${init.method ?? 'GET'} ${path}`).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const problem = await json(response);
  expect(problem.status).toBe(status);
  expect(await api.backend.store.headPosition()).toBe(head);
  return problem;
}

const postJson = (body: string, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body,
});

describe('malformed percent-encoding', () => {
  it('answers 400 for a path parameter that is not percent-encoded UTF-8', async () => {
    for (const path of ['/v1/files/%ff', '/v1/users/%E0%A4%A', '/v1/models/%c0%af/versions/1.0.0/retire']) {
      const method = path.endsWith('retire') ? 'POST' : 'GET';
      const problem = await refused(path, { method }, 400);
      expect(problem.type).toBe('https://chitti.dev/problems/malformed-uri');
    }
  });
});

describe('text that cannot be stored', () => {
  it('refuses NUL in query parameters with 422 and a pointer, before PostgreSQL sees it', async () => {
    for (const [path, pointer] of [
      ['/v1/audit/trail?type=a%00b', 'query/type'],
      ['/v1/detections?className=%00', 'query/className'],
      ['/v1/audit/search?q=x%00', 'query/q'],
      ['/v1/files?name=a%00.png&tags=x', 'query/name'],
    ] as const) {
      const method = path.startsWith('/v1/files?') ? 'POST' : 'GET';
      const init: RequestInit =
        method === 'POST' ? { method, headers: { 'content-type': 'image/png' }, body: Buffer.from('x') } : {};
      const problem = await refused(path, init, 422);
      expect(problem.errors).toContainEqual({ pointer, message: expect.stringMatching(/NUL/) });
    }
  });

  it('refuses NUL and lone surrogates in stored free text with 422 and a pointer to the field', async () => {
    const cases: [string, string, string][] = [
      ['/v1/users', '{"email":"a@example.com","displayName":"x\\u0000y"}', 'body/displayName'],
      ['/v1/users', '{"email":"a@example.com","displayName":"x\\ud800"}', 'body/displayName'],
      ['/v1/users', '{"email":"a@example.com","displayName":"\\udc00y"}', 'body/displayName'],
      [`/v1/users/${adminId}/api-keys`, '{"label":"\\ud83d"}', 'body/label'],
      ['/v1/models/weld/rollback', '{"toVersion":"1.0.0","reason":"no\\u0000"}', 'body/reason'],
      ['/v1/models/weld/traffic', '{"weights":{"1.0.0\\u0000":100}}', 'body/weights/1.0.0\uFFFD'],
    ];
    for (const [path, body, pointer] of cases) {
      const problem = await refused(path, postJson(body), 422);
      expect(problem.type).toBe('https://chitti.dev/problems/validation-failed');
      expect(problem.errors.map((e: { pointer: string }) => e.pointer)).toEqual([pointer]);
    }
  });

  it('keeps well-formed pairs and other control-free text: an emoji display name is recorded', async () => {
    const response = await fetch(`${url}/v1/users`, {
      ...postJson('{"email":"emoji@example.com","displayName":"weld \\ud83d\\udd25 team"}'),
      headers: { ...auth, 'content-type': 'application/json' },
    });
    expect(response.status).toBe(201);
  });

  it('refuses NUL in a JSON header the route stores (X-Model-Metrics)', async () => {
    const problem = await refused(
      '/v1/models/weld/versions?version=1.0.0',
      {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', 'x-model-metrics': '{"m\\u0000":1}' },
        body: Buffer.from('not onnx'),
      },
      422,
    );
    expect(problem.errors[0].pointer).toBe('header/x-model-metrics/m\uFFFD');
  });
});

describe('content encoding', () => {
  const body = '{"email":"enc@example.com","displayName":"enc"}';

  it('answers 400 for a body that does not decode in its declared Content-Encoding', async () => {
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const problem = await refused('/v1/users', postJson(body, { 'content-encoding': encoding }), 400);
      expect(problem.type).toBe('https://chitti.dev/problems/malformed-content-encoding');
    }
    const truncated = gzipSync(body).subarray(0, 12);
    await refused('/v1/users', { ...postJson('', { 'content-encoding': 'gzip' }), body: truncated }, 400);
  });

  it('answers 415 for an unknown Content-Encoding and takes a valid gzip body', async () => {
    await refused('/v1/users', postJson(body, { 'content-encoding': 'x-snappy' }), 415);
    const response = await fetch(`${url}/v1/users`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(body),
    });
    expect(response.status).toBe(201);
  });
});

describe('dates out of range', () => {
  it('answers 400 for year 0000 and other times PostgreSQL cannot hold', async () => {
    for (const path of [
      '/v1/stats/daily-defects?from=0000-01-01',
      '/v1/stats/daily-defects?to=0000-12-31',
      '/v1/inspections?from=0000-01-01T00:00:00Z',
      '/v1/inspections?to=0001-01-01T00:30:00%2B01:00',
      '/v1/detections?from=0000-06-01T00:00:00Z',
      '/v1/audit/trail?to=0000-01-01T00:00:00Z',
      '/v1/audit/search?from=0000-01-01T00:00:00Z',
      '/v1/files/f1?asOf=0000-01-01T00:00:00Z',
      '/v1/audit/streams/user-x?asOf=0000-01-01T00:00:00Z',
    ]) {
      const problem = await refused(path, {}, 400);
      expect(problem.errors[0].message).toMatch(/0001-01-01 and 9999-12-31|ISO|date|time/);
    }
    const ok = await fetch(`${url}/v1/stats/daily-defects?from=0001-01-01&to=9999-12-31`, { headers: auth });
    expect(ok.status).toBe(200);
  });
});

describe('forged cursors', () => {
  it('answers a search cursor carrying NUL with 400, not a failed query', async () => {
    const cursor = Buffer.from(JSON.stringify([1, 'x\u0000'])).toString('base64url');
    for (const path of ['/v1/detections', '/v1/audit/search']) {
      const problem = await refused(`${path}?cursor=${cursor}`, {}, 400);
      expect(problem.detail).toMatch(/cursor/);
    }
  });
});

describe('numbers at the edge of their column types', () => {
  it('answers a score bound below float4 range like zero instead of failing the search', async () => {
    const response = await fetch(`${url}/v1/detections?minScore=1e-300&maxScore=3.5e-299`, { headers: auth });
    expect(response.status).toBe(200);
    expect((await json(response)).items).toEqual([]);
  });
});

describe('requests the HTTP parser refuses', () => {
  /** Writes raw bytes and reads the whole answer (the server closes the connection after it). */
  const raw = (bytes: string) =>
    new Promise<string>((resolve, reject) => {
      const { port } = new URL(url);
      const socket = connect(Number(port), '127.0.0.1', () => socket.end(bytes));
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      socket.on('error', reject);
    });

  it('answers oversized headers and broken request lines with problem JSON, not an empty 400', async () => {
    for (const [request, status] of [
      [`GET /v1/files HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
      ['GARBAGE\r\n\r\n', 400],
      ['GET /v1/files HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', 400],
    ] as const) {
      const answer = await raw(request);
      expect(answer.startsWith(`HTTP/1.1 ${status} `), answer).toBe(true);
      expect(answer).toMatch(/\r\nContent-Type: application\/problem\+json\r\n/);
      const problem = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
      expect(problem).toMatchObject({ status, type: expect.stringMatching(/^https:\/\/chitti\.dev\/problems\//) });
    }
  });
});
