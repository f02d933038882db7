import fc from 'fast-check';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { InMemoryRateLimiter } from '../../infra/rate-limit/in-memory.js';
import { closeAgent, type FuzzRequest, type Operation, operationsOf, requestOf, send } from './support/fuzz.js';
import { bearer, type FullApi, json, KEY_A, ringOf, seedUser, startFullApi, tokensFor } from './support/harness.js';

/**
 * Every route of `/openapi.json`, every parameter, as admin and as anonymous callers: no input may
 * answer 5xx, every error is problem JSON, and a refused request writes no event except the
 * sensitive-read records `api/README.md` documents.
 */
const SEED = 20_261_203;
const RUNS_AS_ADMIN = 36;
const RUNS_ANONYMOUS = 8;
/** The suite stops sending when this is spent, so a slow machine shortens it instead of failing it. */
const BUDGET_MS = 60_000;

let api: FullApi;
let operations: Operation[];
let admin: Record<string, string>;
let known: Record<string, string[]>;

beforeAll(async () => {
  api = await startFullApi(
    { jwtKeys: [KEY_A], rateLimit: { authenticated: 1_000_000, anonymous: 1_000_000, windowMs: 60_000 } },
    new InMemoryRateLimiter(),
  );
  const url = api.server.url;
  const adminUser = await seedUser(api.backend, ['admin']);
  admin = bearer((await tokensFor(url, adminUser.apiKey)).accessToken);
  // Someone else to grant, revoke and erase: the admin's own token must survive the run.
  const victim = await seedUser(api.backend, ['viewer']);
  const png = await sharp({ create: { width: 32, height: 24, channels: 3, background: { r: 9, g: 9, b: 9 } } })
    .png()
    .toBuffer();
  const upload = await fetch(`${url}/v1/files?name=fuzz.png`, {
    method: 'POST',
    headers: { ...admin, 'content-type': 'image/png' },
    body: png,
  });
  const fileId = (await json(upload)).fileId as string;
  const inspection = await fetch(`${url}/v1/inspections`, {
    method: 'POST',
    headers: { ...admin, 'content-type': 'application/json' },
    body: JSON.stringify({ fileId }),
  });
  // Without a registered model the request is refused; the id then names no inspection, which is fuzz too.
  const accepted = (await json(inspection)) as { streamId?: string };
  const inspectionId = accepted.streamId?.replace(/^inspection-/, '') ?? 'no-such-inspection';
  known = {
    fileId: [fileId],
    inspectionId: [inspectionId],
    userId: [victim.userId],
    keyId: [victim.keyId],
    detectionId: ['d0', 'd1'],
    streamId: [`file-${fileId}`, `user-${victim.userId}`],
    name: ['weld-defects'],
    // Cursors are opaque base64url JSON: forged ones carry out-of-range keys and unstorable text past the text check.
    cursor: [
      [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
      [2 ** 31],
      [-1, -1],
      [Number.MAX_SAFE_INTEGER, 'a'],
      [1, 'x\u0000'],
      [1, '\ud800'],
      [1e300, 'a'],
    ].map((key) => Buffer.from(JSON.stringify(key)).toString('base64url')),
    after: ['0'],
  };
  const document = await json(await fetch(`${url}/openapi.json`));
  operations = operationsOf(document);
});

afterAll(async () => {
  closeAgent();
  await api?.close();
});

interface Violation {
  readonly who: string;
  readonly request: string;
  readonly status: number;
  readonly problem: string;
}

const describeRequest = (r: FuzzRequest) =>
  `${r.method} ${r.target.slice(0, 200)} ${JSON.stringify(r.headers).slice(0, 200)} body=${r.body?.subarray(0, 120).toString('latin1') ?? ''}`;

it('answers every generated request without 5xx, with problem JSON for errors and no event for a refusal', async () => {
  const url = api.server.url;
  const store = api.backend.store;
  const expired = ringOf([KEY_A]).sign('access', 'nobody', { roles: ['admin'] }, -60).token;
  const callers: { who: string; runs: number; auth: fc.Arbitrary<Record<string, string>> }[] = [
    { who: 'admin', runs: RUNS_AS_ADMIN, auth: fc.constant(admin) },
    {
      who: 'anonymous',
      runs: RUNS_ANONYMOUS,
      auth: fc.constantFrom<Record<string, string>>(
        {},
        { authorization: 'Bearer not.a.token' },
        { authorization: `Bearer ${expired}` },
        { authorization: 'Basic YWRtaW46YWRtaW4=' },
        { authorization: 'Bearer \u00ff' },
      ),
    },
  ];
  const counts = new Map<string, Map<number, number>>();
  const violations: Violation[] = [];
  const started = Date.now();
  let sent = 0;
  let cutShort = false;

  // Round-robin over operations and callers, so a run cut short by the time budget still reached every operation.
  const queues = callers.flatMap((caller) =>
    operations.map((op, index) => ({
      caller,
      op,
      samples: fc.sample(fc.tuple(requestOf(op, known), caller.auth), { seed: SEED + index, numRuns: caller.runs }),
    })),
  );
  const rounds = Math.max(...callers.map((c) => c.runs));
  for (let round = 0; round < rounds && !cutShort; round++) {
    for (const { caller, op, samples } of queues) {
      const sample = samples[round];
      if (!sample) continue;
      const [request, auth] = sample;
      if (Date.now() - started > BUDGET_MS) {
        cutShort = true;
        break;
      }
      const head = await store.headPosition();
      const response = await send(url, request, auth);
      sent++;
      const route = `${op.method} ${op.template}`;
      const byStatus = counts.get(route) ?? new Map<number, number>();
      byStatus.set(response.status, (byStatus.get(response.status) ?? 0) + 1);
      counts.set(route, byStatus);
      const fail = (problem: string) =>
        violations.push({ who: caller.who, request: describeRequest(request), status: response.status, problem });
      if (response.status >= 500) fail(`5xx: ${response.body.slice(0, 300)}`);
      if (response.status < 400) continue;
      if (!response.contentType.startsWith('application/problem+json')) {
        fail(`error without problem JSON (${response.contentType})`);
      } else {
        const problem = JSON.parse(response.body) as { type?: unknown; title?: unknown; status?: unknown };
        if (typeof problem.type !== 'string' || typeof problem.title !== 'string') fail('problem lacks type/title');
        if (problem.status !== response.status) fail(`problem status ${String(problem.status)}`);
      }
      const after = await store.headPosition();
      if (after !== head) {
        const written = await store.readAll({ after: head, maxCount: 100 });
        // The documented exceptions: a refused sensitive read records its denial; a permitted one is
        // recorded before anything is read, so it stays on record when the thing read does not exist.
        const recordOfRead = (decision: string | undefined) =>
          decision === 'denied' || (decision === 'allowed' && response.status === 404);
        const undocumented = written.filter(
          (e) => !(e.type === 'AccessRecorded' && recordOfRead((e.data as { decision?: string }).decision)),
        );
        if (undocumented.length > 0) fail(`4xx wrote ${undocumented.map((e) => e.type).join(', ')}`);
      }
    }
  }

  const statuses = new Map<number, number>();
  const lines = [...counts.entries()].map(([route, byStatus]) => {
    for (const [status, n] of byStatus) statuses.set(status, (statuses.get(status) ?? 0) + n);
    const total = [...byStatus.values()].reduce((a, b) => a + b, 0);
    const detail = [...byStatus.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`);
    return `  ${route.padEnd(68)} ${String(total).padStart(4)}  ${detail.join(' ')}`;
  });
  const overall = [...statuses.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`);
  console.log(
    [
      `API fuzz: ${sent} requests over ${counts.size} of ${operations.length} operations in ${Date.now() - started} ms` +
        `${cutShort ? ' (time budget reached)' : ''}, seed ${SEED}`,
      ...lines,
      `  statuses: ${overall.join(' ')}`,
      `  violations: ${violations.length}`,
      ...[...new Map(violations.map((v) => [`${v.who} ${v.status} ${v.problem.slice(0, 120)}`, v])).values()]
        .slice(0, 40)
        .map((v) => `    ${v.who} ${v.status} ${v.problem.slice(0, 160)} <- ${v.request}`),
    ].join('\n'),
  );
  expect(violations.slice(0, 20)).toEqual([]);
  // Every operation was reached, as admin at least.
  expect(counts.size).toBe(operations.length);
}, 150_000);
