import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../api/auth/api-key.js';
import { TokenService } from '../../api/auth/token-service.js';
import { resolveOptions } from '../../api/dependencies.js';
import type { RouteSpec } from '../../api/http/route.js';
import { can, eventCategories } from '../../api/rbac.js';
import { apiRoutes } from '../../api/routes/index.js';
import { Role } from '../../schemas/events/index.js';
import {
  type Backend,
  bearer,
  type FullApi,
  json,
  KEY_A,
  ringOf,
  type ServerUnderTest,
  seedUser,
  startFullApi,
  tokensFor,
} from './support/harness.js';

const roles = Role.options;
type RoleName = (typeof roles)[number];

let api: FullApi;
let backend: Backend;
let server: ServerUnderTest;
const token = {} as Record<RoleName, string>;
const users = {} as Record<RoleName, { userId: string; keyId: string }>;
/** sha256 of every API-key secret issued here: none may appear in any response. */
const secretHashes: string[] = [];
const worker = `weld-host-${randomBytes(4).toString('hex')}:4242`;
let fileId: string;
const inspectionId = `insp-${randomBytes(4).toString('hex')}`;

const options = { jwtKeys: [KEY_A], rateLimit: { authenticated: 100_000, anonymous: 1000, windowMs: 60_000 } };

beforeAll(async () => {
  api = await startFullApi(options);
  ({ backend, server } = api);
  for (const role of roles) {
    const user = await seedUser(backend, [role]);
    users[role] = user;
    secretHashes.push(sha256Hex(user.apiKey.split('_')[2]!));
    token[role] = (await tokensFor(server.url, user.apiKey)).accessToken;
  }
  const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 90, g: 90, b: 90 } } })
    .png()
    .toBuffer();
  const uploaded = await fetch(`${server.url}/v1/files?name=w.png`, {
    method: 'POST',
    headers: { ...bearer(token.operator), 'content-type': 'image/png' },
    body: png,
  });
  fileId = (await json(uploaded)).fileId;
  // An inspection a worker picked up: the worker's host name and PID are in the log and the read model.
  const metadata = { actor: 'test-setup' };
  await backend.store.append(
    `inspection-${inspectionId}`,
    [
      {
        type: 'InspectionRequested',
        data: {
          inspectionId,
          fileId,
          fileSha256: null,
          model: { name: 'weld-defects', version: '1.0.0', sha256: null },
          selection: { reason: 'explicit', roll: null, weights: { '1.0.0': 100 } },
          shadows: [],
          thresholds: { confidence: 0.25, iou: 0.7, maxDetections: 300 },
          requestedBy: users.operator.userId,
        },
        metadata,
      },
      { type: 'InferenceStarted', data: { inspectionId, attempt: 1, worker }, metadata },
    ],
    { expectedVersion: 'no_stream' },
  );
  await api.runner.caughtUp();
});

afterAll(() => api?.close());

/** What each role may see in a body, by the table. */
function checkDisclosure(role: RoleName, where: string, body: string): void {
  for (const hash of secretHashes) expect(body, `${where}: API-key hash`).not.toContain(hash);
  // Only as a name in `redacted`, never as a field.
  expect(body, `${where}: secretSha256`).not.toMatch(/"secretSha256"\s*:/);
  if (!can([role], 'users:read')) expect(body, `${where}: e-mail`).not.toContain('@example.com');
  if (!can([role], 'workers:read')) expect(body, `${where}: worker`).not.toContain(worker);
  if (!can([role], 'audit:read')) expect(body, `${where}: access record`).not.toContain('AccessRecorded');
}

/** Path parameters: real ids for reads (so bodies hold data to check), absent ones for writes. */
function pathOf(spec: RouteSpec): { path: string; params: Record<string, string> } {
  const read = spec.method === 'get';
  const values: Record<string, string> = {
    fileId: read ? fileId : 'no-such-file',
    inspectionId: read ? inspectionId : 'no-such-inspection',
    detectionId: 'd0',
    name: 'no-such-model',
    version: '9.9.9',
    // Replaying a user folds their API keys: the hashes must not come out.
    streamId: `user-${users.admin.userId}`,
    userId: read ? users.admin.userId : 'no-such-user',
    role: 'viewer',
    keyId: 'no-such-key',
  };
  const params: Record<string, string> = {};
  const path = spec.path.replace(/:(\w+)/g, (_m, name: string) => {
    params[name] = values[name] ?? 'x';
    return encodeURIComponent(params[name]!);
  });
  return { path, params };
}

/** Allowed by the table: the route's permission, and for a sensitive read its own ones too. */
function allowedBy(spec: RouteSpec, role: RoleName, params: Record<string, string>, query: Record<string, string>) {
  if (spec.permission === 'public') return true;
  const parsedParams = spec.params ? spec.params.parse(params) : params;
  const parsedQuery = spec.query?.safeParse(query);
  // A query that fails validation is refused (400) before a sensitive read is decided: only the route permission counts.
  const read =
    parsedQuery?.success === false
      ? undefined
      : spec.sensitive?.({ params: parsedParams, query: parsedQuery?.data ?? query });
  const needed = [spec.permission, ...(read ? [read.permission, ...(read.also ?? [])] : [])];
  return needed.every((p) => can([role], p));
}

describe('every route with every role, against the table in rbac.ts', () => {
  it('refuses exactly what the table refuses, and no body carries what the role may not read', async () => {
    const resolved = resolveOptions(options);
    const all = apiRoutes(
      api.deps,
      resolved,
      new TokenService(ringOf(resolved.jwtKeys), api.deps.identity, api.deps.refreshTokens, {
        access: 60,
        refresh: 60,
      }),
    );
    const routes = all.filter((spec) => spec.permission !== 'public' && spec.path !== '/v1/events/stream');
    const documented = await json(await fetch(`${server.url}/openapi.json`));
    const operations = Object.values(documented.paths as Record<string, object>).flatMap((m) => Object.keys(m));
    // Every documented route is run, but the public ones (the token endpoints, which take no bearer
    // permission, and the seal keys an auditor needs without an account) and the event stream (its
    // own test below). A route made public by mistake fails here.
    const publicRoutes = all.filter((spec) => spec.permission === 'public').map((spec) => spec.path);
    expect(publicRoutes.every((path) => path.startsWith('/auth/') || path === '/v1/audit/seal-keys')).toBe(true);
    expect(routes.length).toBe(operations.length - publicRoutes.length - 1);

    const head = await backend.store.headPosition();
    let checked = 0;
    for (const spec of routes) {
      const { path, params } = pathOf(spec);
      const takesAsOf = spec.query && 'shape' in spec.query && 'asOf' in (spec.query as { shape: object }).shape;
      const queries: Record<string, string>[] = takesAsOf ? [{}, { asOf: String(head) }] : [{}];
      for (const query of queries) {
        for (const role of roles) {
          const url = `${server.url}${path}${Object.keys(query).length ? `?${new URLSearchParams(query)}` : ''}`;
          const body =
            spec.body?.kind === 'json'
              ? { body: '{}', type: 'application/json' }
              : spec.body?.kind === 'binary'
                ? { body: 'x', type: spec.body.mediaTypes[0]! }
                : undefined;
          const response = await fetch(url, {
            method: spec.method.toUpperCase(),
            headers: { ...bearer(token[role]), ...(body ? { 'content-type': body.type } : {}) },
            ...(body ? { body: body.body } : {}),
          });
          const text = await response.text();
          const where = `${role} ${spec.method.toUpperCase()} ${url.slice(server.url.length)} -> ${response.status}`;
          expect(response.status, where).toBeLessThan(500);
          if (allowedBy(spec, role, params, query)) expect(response.status, where).not.toBe(403);
          else expect(response.status, where).toBe(403);
          checkDisclosure(role, where, text);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(200);
  });

  it('shows worker identity in the inspection read models to operators, auditors and admins only', async () => {
    for (const role of roles) {
      const one = await json(
        await fetch(`${server.url}/v1/inspections/${inspectionId}`, { headers: bearer(token[role]) }),
      );
      const list = await json(await fetch(`${server.url}/v1/inspections`, { headers: bearer(token[role]) }));
      const listed = list.items.find((i: { inspectionId: string }) => i.inspectionId === inspectionId);
      expect(one.status, role).toBe('running');
      if (can([role], 'workers:read')) {
        expect(one.worker, role).toBe(worker);
        expect(listed.worker, role).toBe(worker);
      } else {
        expect(one, role).not.toHaveProperty('worker');
        expect(listed, role).not.toHaveProperty('worker');
      }
    }
    expect(can(['viewer'], 'workers:read')).toBe(false);
    expect(can(['operator'], 'workers:read')).toBe(true);
  });
});

/** Reads an SSE response until a frame has the given id; returns the frames. */
async function framesUntil(response: Response, id: number): Promise<string[]> {
  const reader = response.body!.getReader();
  let text = '';
  const done = () => text.split('\n\n').some((frame) => frame.split('\n').includes(`id: ${id}`));
  while (!done()) {
    const chunk = await reader.read();
    if (chunk.done) break;
    text += Buffer.from(chunk.value).toString();
  }
  await reader.cancel();
  return text.split('\n\n').filter(Boolean);
}

const dataOf = (frame: string) => {
  const line = frame.split('\n').find((l) => l.startsWith('data: '));
  return line ? JSON.parse(line.slice(6)) : undefined;
};

describe('the event stream replays only what each role may read', () => {
  it('gives every role its categories from position 0, redacted, with ids that still reach the head', async () => {
    for (const role of roles) {
      const response = await fetch(`${server.url}/v1/events/stream?after=0`, { headers: bearer(token[role]) });
      if (!can([role], 'events:stream')) {
        expect(response.status, role).toBe(403);
        checkDisclosure(role, role, await response.text());
        continue;
      }
      expect(response.status, role).toBe(200);
      // The stream's own AccessRecorded is written before it starts: the head includes it.
      const head = await backend.store.headPosition();
      const frames = await framesUntil(response, head);
      checkDisclosure(role, `stream of ${role}`, frames.join('\n\n'));
      const events = frames.map(dataOf).filter(Boolean);
      for (const event of events) {
        const category = Object.values(eventCategories).find((c) =>
          (c.types as readonly string[]).includes(event.type),
        );
        expect(category && can([role], category.permission), `${role} got ${event.type}`).toBe(true);
      }
      const ids = frames.flatMap((f) =>
        f
          .split('\n')
          .filter((l) => l.startsWith('id: '))
          .map((l) => Number(l.slice(4))),
      );
      expect(ids, role).toEqual([...ids].sort((a, b) => a - b));
      expect(ids.at(-1), role).toBe(head);
      const started = events.find((e: { type: string }) => e.type === 'InferenceStarted');
      expect(started, role).toBeDefined();
      if (can([role], 'workers:read')) expect(started.data.worker).toBe(worker);
      else expect(started.redacted, role).toEqual(['data.worker']);
      const types = new Set(events.map((e: { type: string }) => e.type));
      expect(types.has('UserRegistered'), role).toBe(can([role], 'users:read'));
      expect(types.has('AccessRecorded'), role).toBe(can([role], 'audit:read'));
    }
  });

  it('moves the resume position past events the reader may not see with a bare id, and resumes after it', async () => {
    const before = await backend.store.headPosition();
    await seedUser(backend, ['viewer']); // identity events: not the operator's to read
    const response = await fetch(`${server.url}/v1/events/stream`, {
      headers: { ...bearer(token.operator), 'last-event-id': String(before) },
    });
    expect(response.status).toBe(200);
    const head = await backend.store.headPosition(); // the seeded user, then this stream's access record
    const frames = await framesUntil(response, head);
    expect(frames.map(dataOf).filter(Boolean)).toEqual([]);
    expect(frames).toContain(`id: ${head}`);

    // Resuming from that id skips nothing the operator may read: a file event after it arrives first.
    const resumed = await fetch(`${server.url}/v1/events/stream`, {
      headers: { ...bearer(token.operator), 'last-event-id': String(head) },
    });
    const tagged = await fetch(`${server.url}/v1/files/${fileId}/tags`, {
      method: 'POST',
      headers: { ...bearer(token.operator), 'content-type': 'application/json' },
      body: JSON.stringify({ add: ['resumed'] }),
    });
    const position = (await json(tagged)).globalPosition as number;
    const next = (await framesUntil(resumed, position)).map(dataOf).filter(Boolean);
    expect(next.map((e: { type: string }) => e.type)).toEqual(['FileTagged']);
    expect(next[0].globalPosition).toBe(position);
  });
});

describe('exports and replays', () => {
  it('exports without secret hashes (named in redacted); the raw export needs audit:export-raw', async () => {
    const head = await backend.store.headPosition();
    const exported = await fetch(`${server.url}/v1/audit/export?to=${head}`, { headers: bearer(token.auditor) });
    expect(exported.status).toBe(200);
    const lines = (await exported.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const issued = lines.filter((e) => e.type === 'ApiKeyIssued');
    expect(issued.length).toBeGreaterThanOrEqual(roles.length);
    for (const event of issued) {
      expect(event.redacted).toEqual(['data.secretSha256']);
      expect(event.data).not.toHaveProperty('secretSha256');
    }

    const refused = await fetch(`${server.url}/v1/audit/export?to=${head}&raw=true`, {
      headers: bearer(token.auditor),
    });
    expect(refused.status).toBe(403);
    const raw = await fetch(`${server.url}/v1/audit/export?to=${head}&raw=true`, { headers: bearer(token.admin) });
    expect(raw.status).toBe(200);
    const rawText = await raw.text();
    for (const hash of secretHashes) expect(rawText).toContain(hash);
    expect(rawText).not.toContain('"redacted"');
  });

  it('replays a user for an auditor without the hashes of their keys', async () => {
    const response = await fetch(`${server.url}/v1/audit/streams/user-${users.viewer.userId}`, {
      headers: bearer(token.auditor),
    });
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.state.apiKeys[users.viewer.keyId]).toMatchObject({ label: 'test', revoked: false });
    expect(JSON.stringify(body)).not.toContain('secretSha256');
  });
});

describe('refused sensitive reads are recorded without amplification', () => {
  it('writes at most two events for 100 refused reads, whose counts add up to 100', async () => {
    const viewer = await seedUser(backend, ['viewer']);
    const access = (await tokensFor(server.url, viewer.apiKey)).accessToken;
    const statuses = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        fetch(`${server.url}/v1/files/${fileId}?asOf=${i + 1}`, { headers: bearer(access) }).then((r) => r.status),
      ),
    );
    expect(new Set(statuses)).toEqual(new Set([403]));
    await api.deps.accessLog.flush(); // what a clean shutdown does
    const day = new Date().toISOString().slice(0, 10);
    const records = (await backend.store.readStream(`access-${day}`))
      .filter((e) => e.metadata.actor === viewer.userId)
      .map((e) => e.data as { action: string; decision: string; count: number; resource: string; reason: string });
    expect(records.length).toBeGreaterThanOrEqual(1);
    expect(records.length).toBeLessThanOrEqual(2);
    expect(records.every((r) => r.action === 'aggregate.as-of' && r.decision === 'denied')).toBe(true);
    expect(records.every((r) => r.reason === 'lacks history:as-of')).toBe(true);
    expect(records.reduce((n, r) => n + r.count, 0)).toBe(100);
  });
});
