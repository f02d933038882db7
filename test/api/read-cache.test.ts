import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { StreamReadCache } from '../../api/stores/stream-read-cache.js';
import { recordDetections, startInference } from '../../commands/index.js';
import {
  bearer,
  caller,
  type FullApi,
  json,
  KEY_A,
  listen,
  type ServerUnderTest,
  seedUser,
  startFullApi,
  tokensFor,
} from './support/harness.js';

const SAMPLE = new URL('../../inference/samples/weld-9001056.png', import.meta.url);
const MODEL_FILE = new URL('../../inference/models/weld-defects-0.0.1-untrained.onnx', import.meta.url);

let api: FullApi;
const token = { admin: '', reviewer: '', viewer: '' };
let inspectionId: string;
const worker = { actor: 'worker-1', correlationId: 'c1' };

const call = caller(() => api.server.url, token);

/** Lookups of a read cache so far, by result. */
async function lookups(cache = 'inspection'): Promise<Record<string, number>> {
  const metric = await api.deps.metrics.getSingleMetric('chitti_read_cache_lookups_total')!.get();
  return Object.fromEntries(
    metric.values.filter((v) => v.labels.cache === cache).map((v) => [String(v.labels.result), v.value]),
  );
}

const getInspection = (who: keyof typeof token = 'viewer', headers: Record<string, string> = {}) =>
  call('GET', `/v1/inspections/${inspectionId}`, who, { headers });

beforeAll(async () => {
  api = await startFullApi({ jwtKeys: [KEY_A], defaultModelName: 'weld-defects' });
  const roles = { admin: 'admin', reviewer: 'reviewer', viewer: 'viewer' } as const;
  for (const [who, role] of Object.entries(roles)) {
    const user = await seedUser(api.backend, [role]);
    token[who as keyof typeof token] = (await tokensFor(api.server.url, user.apiKey)).accessToken;
  }
  const model = await readFile(MODEL_FILE);
  expect((await call('POST', '/v1/models/weld-defects/versions?version=0.0.1', 'admin', { raw: model })).status).toBe(
    201,
  );
  expect(
    (await call('POST', '/v1/models/weld-defects/deployments', 'admin', { body: { version: '0.0.1' } })).status,
  ).toBe(200);
  const upload = await fetch(`${api.server.url}/v1/files?name=weld.png`, {
    method: 'POST',
    headers: { ...bearer(token.admin), 'content-type': 'image/png' },
    body: await readFile(SAMPLE),
  });
  const fileId = (await json(upload)).fileId as string;
  inspectionId = (await json(await call('POST', '/v1/inspections', 'admin', { body: { fileId } }))).inspectionId;
  await api.runner.caughtUp();
});

afterAll(() => api?.close());

describe('the inspection read cache', () => {
  it('answers a repeated GET from memory, byte for byte, and counts the hit', async () => {
    const first = await getInspection();
    const before = await lookups();
    const second = await getInspection();
    expect(second.status).toBe(200);
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(second.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(await second.text()).toBe(await first.text());
    expect((await lookups()).hit).toBe((before.hit ?? 0) + 1);
  });

  it('keeps one answer per disclosure view: each role gets what it got without the cache', async () => {
    const viewer = await json(await getInspection('viewer'));
    const reviewer = await json(await getInspection('reviewer'));
    expect(await json(await getInspection('viewer'))).toEqual(viewer);
    expect(await json(await getInspection('reviewer'))).toEqual(reviewer);
  });

  it('never answers older than a version appended by someone else once the read model shows it', async () => {
    const cached = await getInspection();
    expect(cached.headers.get('etag')).toBe('"1"');
    // A worker (not this API's commands) appends InferenceStarted.
    await startInference({ store: api.backend.store }, { inspectionId, attempt: 1, worker: 'w1' }, worker);
    await api.runner.caughtUp();
    const after = await getInspection();
    expect(after.headers.get('etag')).toBe('"2"');
    expect((await json(after)).status).toBe('running');
  });

  it('answers a read after a write through the API with the version the write returned', async () => {
    const [requested] = await api.backend.store.readStream(`inspection-${inspectionId}`);
    const { model, thresholds } = requested!.data as { model: object; thresholds: object };
    await recordDetections(
      { store: api.backend.store },
      {
        inspectionId,
        role: 'live',
        model,
        detections: [
          { detectionId: 'd0', classId: 0, className: 'porosity', score: 0.91, box: { x1: 1, y1: 1, x2: 9, y2: 9 } },
        ],
        image: { width: 336, height: 308 },
        window: null,
        thresholds,
        timings: { queueMs: 1, preprocessMs: 2, inferenceMs: 20, postprocessMs: 1 },
        batchSize: 1,
        cached: false,
      } as never,
      worker,
    );
    await api.runner.caughtUp();
    expect((await getInspection()).headers.get('etag')).toBe('"3"');
    expect((await getInspection()).headers.get('etag')).toBe('"3"'); // now from the cache
    const review = await call('POST', `/v1/inspections/${inspectionId}/detections/d0/review`, 'reviewer', {
      body: { verdict: 'confirmed' },
    });
    expect(review.status).toBe(200);
    const written = review.headers.get('etag');
    expect(written).toBe('"4"');
    await api.runner.caughtUp();
    const after = await getInspection();
    expect(after.headers.get('etag')).toBe(written);
    expect((await json(after)).reviews).toHaveLength(1);
  });

  it('answers a detection search from memory while nothing is appended, and never after the index changed', async () => {
    const confirmed = async () => {
      const response = await call('GET', '/v1/detections?verdict=confirmed', 'viewer');
      expect(response.status).toBe(200);
      return json(response);
    };
    await vi.waitFor(async () => {
      const page = await confirmed();
      expect(page.freshness.lag).toBe(0);
      expect(page.items.map((h: { detectionId: string }) => h.detectionId)).toEqual(['d0']);
    });
    const searches = async () => (await lookups('detection-search')).hit ?? 0;
    const hits = await searches();
    const again = await confirmed();
    expect(await searches()).toBe(hits + 1);
    expect(again.items).toHaveLength(1);
    // Rejected after all: the confirmed page must come back empty once the index shows it.
    const review = await call('POST', `/v1/inspections/${inspectionId}/detections/d0/review`, 'reviewer', {
      body: { verdict: 'rejected' },
    });
    expect(review.status).toBe(200);
    await vi.waitFor(async () => {
      const page = await confirmed();
      expect(page.freshness.lag).toBe(0);
      expect(page.items).toEqual([]);
    });
  });

  it('reads the read model again when If-None-Match names a newer version than the entry', async () => {
    const current = (await getInspection()).headers.get('etag')!;
    const version = Number(current.replaceAll('"', ''));
    const before = await lookups();
    const response = await getInspection('viewer', { 'if-none-match': `"${version + 5}"` });
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBe(current);
    expect((await lookups()).bypass).toBe((before.bypass ?? 0) + 1);
  });

  it('follows the log: an append from another process drops the entry even with no projector here', async () => {
    const cache = new StreamReadCache({ name: 'test', streamPrefix: 'user-' });
    cache.set('user-x', 'v', 1, 'never kept'); // not following the log yet: nothing is kept
    expect(cache.get('user-x', 'v')).toBeUndefined();
    const user = await seedUser(api.backend, ['viewer']); // user-<id> at version 3
    cache.follow(api.backend.store, 0);
    const streamId = `user-${user.userId}`;
    cache.set(streamId, 'v', 3, 'three');
    await vi.waitFor(() => expect(cache.get(streamId, 'v')?.text).toBe('three'));
    await api.backend.store.append(
      streamId,
      [{ type: 'RoleGranted', data: { userId: user.userId, role: 'reviewer', grantedBy: 'test' }, metadata: worker }],
      { expectedVersion: 3 },
    );
    await vi.waitFor(() => expect(cache.get(streamId, 'v')).toBeUndefined());
    cache.set(streamId, 'v', 3, 'stale'); // a read model still at 3 is served but not kept
    expect(cache.get(streamId, 'v')).toBeUndefined();
    cache.set(streamId, 'v', 4, 'four');
    expect(cache.get(streamId, 'v')?.text).toBe('four');
    await cache.stop();
  });

  it('forgets nothing silently: once a noted version is dropped, unnoted streams are no longer kept', () => {
    const cache = new StreamReadCache({ name: 'test', streamPrefix: 's-', maxKnownStreams: 2 });
    cache.follow({ subscribe: () => ({ stop: async () => {} }) } as never, 0);
    cache.set('s-a', 'v', 1, 'a');
    expect(cache.get('s-a', 'v')?.text).toBe('a');
    for (const id of ['s-b', 's-c', 's-d']) cache.note(id, 1);
    cache.set('s-e', 'v', 1, 'e');
    expect(cache.get('s-e', 'v')).toBeUndefined();
  });
});

describe('trace context without HTTP instrumentation (startTraces)', () => {
  let traced: ServerUnderTest;
  beforeAll(async () => {
    traced = await listen(api.deps, { jwtKeys: [KEY_A], defaultModelName: 'weld-defects', startTraces: true });
  });
  afterAll(() => traced?.close());

  it('gives each request a trace id of its own, or continues the caller’s with a span id of its own', async () => {
    const a = await call('GET', '/health/live', 'viewer', { base: traced.url });
    const b = await call('GET', '/health/live', 'viewer', { base: traced.url });
    expect(a.headers.get('x-trace-id')).toMatch(/^[0-9a-f]{32}$/);
    expect(b.headers.get('x-trace-id')).toMatch(/^[0-9a-f]{32}$/);
    expect(a.headers.get('x-trace-id')).not.toBe(b.headers.get('x-trace-id'));

    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const tagged = await call('POST', `/v1/inspections/${inspectionId}/close`, 'admin', {
      base: traced.url,
      body: { outcome: 'accepted' },
      headers: { traceparent },
    });
    expect(tagged.headers.get('x-trace-id')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    const events = await api.backend.store.readStream(`inspection-${inspectionId}`);
    const closed = events.find((e) => e.type === 'InspectionClosed');
    expect(tagged.status).toBe(200);
    expect(closed!.metadata.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-00$/);
    expect(closed!.metadata.traceparent).not.toBe(traceparent);
  });
});
