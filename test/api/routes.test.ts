import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  AuditEntry,
  AuditHitSchema,
  DailyDefectRows,
  DetectionHitSchema,
  FileRow,
  InspectionDetail,
  InspectionRow,
  ModelDetail,
  ModelRows,
  PageOf,
  ProjectionStatusRows,
  ReviewStatsRows,
  SearchPageOf,
} from '../../api/schemas.js';
import { Sealer } from '../../infra/postgres/sealer.js';
import { generateSealSigningKey } from '../../infra/sealing/seal-keys.js';
import type { ProjectionRunner } from '../../projections/runner.js';
import {
  type Backend,
  bearer,
  type FullApi,
  json,
  KEY_A,
  type ServerUnderTest,
  seedUser,
  startFullApi,
  tokensFor,
} from './support/harness.js';

const MODEL_FILE = new URL('../../inference/models/weld-defects-0.0.1-untrained.onnx', import.meta.url);

let api: FullApi;
let backend: Backend;
let server: ServerUnderTest;
let runner: ProjectionRunner;
const token: Record<'admin' | 'operator' | 'reviewer' | 'ml' | 'auditor' | 'viewer', string> = {
  admin: '',
  operator: '',
  reviewer: '',
  ml: '',
  auditor: '',
  viewer: '',
};
let png: Buffer;

beforeAll(async () => {
  api = await startFullApi({ jwtKeys: [KEY_A], defaultModelName: 'weld-defects' });
  ({ backend, server, runner } = api);
  const roles = {
    admin: 'admin',
    operator: 'operator',
    reviewer: 'reviewer',
    ml: 'ml-engineer',
    auditor: 'auditor',
    viewer: 'viewer',
  } as const;
  for (const [who, role] of Object.entries(roles)) {
    const user = await seedUser(backend, [role]);
    token[who as keyof typeof token] = (await tokensFor(server.url, user.apiKey)).accessToken;
  }
  png = await sharp({ create: { width: 80, height: 60, channels: 3, background: { r: 120, g: 120, b: 120 } } })
    .png()
    .toBuffer();
});

afterAll(() => api?.close());

const call = (
  method: string,
  path: string,
  who: keyof typeof token,
  options: { body?: unknown; raw?: Buffer; contentType?: string; headers?: Record<string, string> } = {},
) =>
  fetch(`${server.url}${path}`, {
    method,
    headers: {
      ...bearer(token[who]),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.raw ? { 'content-type': options.contentType ?? 'application/octet-stream' } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    ...(options.raw ? { body: options.raw } : {}),
  });

async function uploadPng(headers: Record<string, string> = {}) {
  const response = await call('POST', '/v1/files?name=weld%2001.png&tags=plant-a,line-3', 'operator', {
    raw: png,
    contentType: 'image/png',
    headers,
  });
  return { response, body: await json(response) };
}

describe('files', () => {
  it('stores a real PNG, records FileUploaded and serves it from the read model with its ETag', async () => {
    const { response, body } = await uploadPng();
    expect(response.status).toBe(201);
    expect(body).toMatchObject({
      mediaType: 'image/png',
      width: 80,
      height: 60,
      bitDepth: 8,
      channels: 3,
      originalName: 'weld 01.png',
      tags: ['line-3', 'plant-a'],
      streamVersion: 1,
    });
    expect(response.headers.get('location')).toBe(`/v1/files/${body.fileId}`);
    const [event] = await backend.store.readStream(`file-${body.fileId}`);
    expect(event).toMatchObject({ type: 'FileUploaded', streamVersion: 1 });
    expect((event!.data as { sha256: string }).sha256).toBe(body.sha256);

    await runner.caughtUp();
    const read = await call('GET', `/v1/files/${body.fileId}`, 'viewer');
    expect(read.status).toBe(200);
    expect(read.headers.get('etag')).toBe('"1"');
    expect(await json(read)).toMatchObject({
      fileId: body.fileId,
      sha256: body.sha256,
      uploadedBy: expect.any(String),
    });
  });

  it('answers a retried upload with the same Idempotency-Key with the first response and appends nothing', async () => {
    const first = await uploadPng({ 'idempotency-key': 'upload-retry-1' });
    const headBefore = await backend.store.headPosition();
    const retry = await uploadPng({ 'idempotency-key': 'upload-retry-1' });
    expect(retry.response.status).toBe(201);
    expect(retry.response.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(retry.response.headers.get('location')).toBe(first.response.headers.get('location'));
    expect(await backend.store.headPosition()).toBe(headBefore);

    const otherBody = await call('POST', '/v1/files?name=other.png', 'operator', {
      raw: await sharp(png).flip().png().toBuffer(),
      contentType: 'image/png',
      headers: { 'idempotency-key': 'upload-retry-1' },
    });
    expect(otherBody.status).toBe(422);
    expect((await json(otherBody)).type).toBe('https://chitti.dev/problems/idempotency-key-reused');
  });

  it('honours If-Match: a stale version is 412 and changes nothing', async () => {
    const { body } = await uploadPng();
    const tag = (ifMatch: string) =>
      call('POST', `/v1/files/${body.fileId}/tags`, 'operator', {
        body: { add: ['urgent'] },
        headers: { 'if-match': ifMatch },
      });
    const fresh = await tag('"1"');
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get('etag')).toBe('"2"');
    const stale = await tag('"1"');
    expect(stale.status).toBe(412);
    expect((await json(stale)).type).toBe('https://chitti.dev/problems/precondition-failed');
    expect(await backend.store.readStream(`file-${body.fileId}`)).toHaveLength(2);
  });

  it('answers a retry whose stored response is gone with the committed upload, never a new file or a 500', async () => {
    const first = await uploadPng({ 'idempotency-key': 'upload-response-lost' });
    expect(first.response.status).toBe(201);
    const headBefore = await backend.store.headPosition();
    // The API's own record of the answer is lost (expired, or the process died before writing it).
    await backend.pool.query(`DELETE FROM api.idempotent_requests WHERE key = 'upload-response-lost'`);
    const retry = await uploadPng({ 'idempotency-key': 'upload-response-lost' });
    expect(retry.response.status).toBe(201);
    expect(retry.body.fileId).toBe(first.body.fileId);
    expect(retry.response.headers.get('location')).toBe(`/v1/files/${first.body.fileId}`);
    expect(await backend.store.headPosition()).toBe(headBefore);
  });

  it('refuses a weak ETag in If-Match with 412 and changes nothing', async () => {
    const { body } = await uploadPng();
    const weak = await call('POST', `/v1/files/${body.fileId}/tags`, 'operator', {
      body: { add: ['urgent'] },
      headers: { 'if-match': 'W/"1"' },
    });
    expect(weak.status).toBe(412);
    expect((await json(weak)).type).toBe('https://chitti.dev/problems/weak-etag');
    expect(await backend.store.readStream(`file-${body.fileId}`)).toHaveLength(1);
  });

  it('lands all of 30 concurrent taggers of one file: commutative commands are retried on conflict', async () => {
    const { body } = await uploadPng();
    const tags = Array.from({ length: 30 }, (_, i) => `concurrent-${i}`);
    const responses = await Promise.all(
      tags.map((tag) => call('POST', `/v1/files/${body.fileId}/tags`, 'operator', { body: { add: [tag] } })),
    );
    expect(responses.map((r) => r.status)).toEqual(tags.map(() => 200));
    const events = await backend.store.readStream(`file-${body.fileId}`);
    expect(events).toHaveLength(31);
    const added = events.flatMap((e) => ((e.data as { added?: string[] }).added ?? []) as string[]);
    for (const tag of tags) expect(added).toContain(tag);
  });

  it('never retries a commutative command that carries If-Match: one of 5 concurrent taggers wins, the rest get 412', async () => {
    const { body } = await uploadPng();
    const responses = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        call('POST', `/v1/files/${body.fileId}/tags`, 'operator', {
          body: { add: [`pinned-${i}`] },
          headers: { 'if-match': '"1"' },
        }),
      ),
    );
    expect(responses.map((r) => r.status).sort()).toEqual([200, 412, 412, 412, 412]);
    expect(await backend.store.readStream(`file-${body.fileId}`)).toHaveLength(2);
  });

  it('maps a missing aggregate to 404 and a broken domain rule to 422; a repeated delete is already satisfied', async () => {
    const missing = await call('POST', '/v1/files/nope/tags', 'operator', { body: { add: ['x'] } });
    expect(missing.status).toBe(404);
    expect((await json(missing)).code).toBe('file.not-found');
    const { body } = await uploadPng();
    const remove = () => call('DELETE', `/v1/files/${body.fileId}?reason=duplicate%20scan`, 'admin');
    expect((await remove()).status).toBe(200);
    const again = await remove();
    expect(again.status).toBe(200);
    expect(await json(again)).toMatchObject({ streamVersion: 2, globalPosition: null });
    const tagDeleted = await call('POST', `/v1/files/${body.fileId}/tags`, 'operator', { body: { add: ['x'] } });
    expect(tagDeleted.status).toBe(422);
    expect(await json(tagDeleted)).toMatchObject({ status: 422, code: 'file.deleted' });
    const operatorDelete = await call('DELETE', `/v1/files/${body.fileId}?reason=x`, 'operator');
    expect(operatorDelete.status).toBe(403);
  });
});

describe('file content and request metadata', () => {
  it('serves the stored bytes, then 410 once the file is deleted', async () => {
    const { body } = await uploadPng();
    await runner.caughtUp();
    const content = await call('GET', `/v1/files/${body.fileId}/content`, 'viewer');
    expect(content.status).toBe(200);
    expect(content.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await content.arrayBuffer()).equals(png)).toBe(true);
    await call('DELETE', `/v1/files/${body.fileId}?reason=test`, 'admin');
    await runner.caughtUp();
    expect((await call('GET', `/v1/files/${body.fileId}/content`, 'viewer')).status).toBe(410);
  });

  it('carries the correlation id and the caller’s traceparent into the event metadata', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const { response, body } = await uploadPng({ traceparent, 'x-correlation-id': 'corr-upload-1' });
    expect(response.headers.get('x-trace-id')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    const [event] = await backend.store.readStream(`file-${body.fileId}`);
    expect(event!.metadata).toMatchObject({ traceparent, correlationId: 'corr-upload-1' });
    expect(event!.metadata.actor).toMatch(/operator/);
  });

  it('answers a known path with an unsupported method with 405 and Allow', async () => {
    const response = await call('PUT', '/v1/files/abc', 'viewer');
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('DELETE, GET, HEAD');
    expect((await json(response)).type).toBe('https://chitti.dev/problems/method-not-allowed');
  });
});

describe('models and inspections, end to end', () => {
  let fileId: string;
  let inspectionId: string;

  it('registers the shipped ONNX model after inspecting it, and refuses a non-ONNX upload', async () => {
    const bytes = await readFile(MODEL_FILE);
    const registered = await call('POST', '/v1/models/weld-defects/versions?version=0.0.1', 'ml', {
      raw: bytes,
      headers: { 'x-model-metrics': '{"mAP50":0}' },
    });
    expect(registered.status).toBe(201);
    expect(await json(registered)).toMatchObject({
      name: 'weld-defects',
      version: '0.0.1',
      outputLayout: 'yolo',
      inputSize: { width: 320, height: 320 },
    });
    const junk = await call('POST', '/v1/models/weld-defects/versions?version=0.0.2', 'ml', { raw: png });
    expect(junk.status).toBe(422);
    expect((await json(junk)).type).toMatch(/invalid-model/);
    const byOperator = await call('POST', '/v1/models/weld-defects/versions?version=0.0.3', 'operator', { raw: bytes });
    expect(byOperator.status).toBe(403);

    // Other bytes (one letter of the metadata changed) under a registered version: a conflict.
    const variant = Buffer.from(bytes);
    const at = variant.indexOf('untrained');
    variant.write('Untrained', at, 'latin1');
    const conflict = await call('POST', '/v1/models/weld-defects/versions?version=0.0.1', 'ml', { raw: variant });
    expect(conflict.status).toBe(409);
    expect(await json(conflict)).toMatchObject({ code: 'model.version-already-registered' });
  });

  it('deploys it and requests an inspection that records the chosen version', async () => {
    const deployed = await call('POST', '/v1/models/weld-defects/deployments', 'ml', { body: { version: '0.0.1' } });
    expect(deployed.status).toBe(200);
    const upload = await uploadPng();
    fileId = upload.body.fileId;
    const requested = await call('POST', '/v1/inspections', 'operator', { body: { fileId } });
    expect(requested.status).toBe(202);
    const body = await json(requested);
    inspectionId = body.inspectionId;
    expect(requested.headers.get('location')).toBe(`/v1/inspections/${inspectionId}`);
    const [event] = await backend.store.readStream(`inspection-${inspectionId}`);
    expect(event).toMatchObject({ type: 'InspectionRequested', metadata: { correlationId: expect.any(String) } });
    expect(event!.data).toMatchObject({ fileId, model: { name: 'weld-defects', version: '0.0.1' } });

    await runner.caughtUp();
    const read = await call('GET', `/v1/inspections/${inspectionId}`, 'viewer');
    expect(read.status).toBe(200);
    expect(await json(read)).toMatchObject({ inspectionId, fileId, status: 'requested' });
    const list = await call('GET', `/v1/inspections?fileId=${fileId}`, 'viewer');
    expect((await json(list)).items.map((i: { inspectionId: string }) => i.inspectionId)).toEqual([inspectionId]);
  });

  it('refuses to close an inspection that has no result yet (domain rule, nothing appended)', async () => {
    const closed = await call('POST', `/v1/inspections/${inspectionId}/close`, 'reviewer', {
      body: { outcome: 'accepted' },
    });
    expect([409, 422]).toContain(closed.status);
    expect((await json(closed)).code).toMatch(/^inspection\./);
    expect(await backend.store.readStream(`inspection-${inspectionId}`)).toHaveLength(1);
  });

  it('lets an auditor see the model as of a past position, recording the access; a viewer is denied and recorded', async () => {
    const events = await backend.store.readStream('model-weld-defects');
    const registeredAt = events[0]!.globalPosition;
    const asOf = await call('GET', `/v1/models/weld-defects?asOf=${registeredAt}`, 'auditor');
    expect(asOf.status).toBe(200);
    const past = await json(asOf);
    expect(past).toMatchObject({ streamId: 'model-weld-defects', streamVersion: 1, globalPosition: registeredAt });
    expect(JSON.stringify(past.state)).toContain('0.0.1');

    const denied = await call('GET', `/v1/inspections/${inspectionId}?asOf=${registeredAt}`, 'viewer');
    expect(denied.status).toBe(403);

    const day = new Date().toISOString().slice(0, 10);
    const access = (await backend.store.readStream(`access-${day}`)).map((e) => e.data);
    expect(access).toContainEqual(
      expect.objectContaining({
        action: 'aggregate.as-of',
        decision: 'allowed',
        resource: expect.stringContaining('model-weld-defects'),
      }),
    );
    expect(access).toContainEqual(
      expect.objectContaining({
        action: 'aggregate.as-of',
        decision: 'denied',
        resource: expect.stringContaining(inspectionId),
      }),
    );
  });
});

describe('model lifecycle', () => {
  it('canaries a second version, shifts, shadows, rolls back and retires it', async () => {
    const bytes = Buffer.from(await readFile(MODEL_FILE));
    bytes.write('Untrained', bytes.indexOf('untrained'), 'latin1');
    const path = '/v1/models/weld-defects';
    expect((await call('POST', `${path}/versions?version=0.0.2`, 'ml', { raw: bytes })).status).toBe(201);

    const canary = await call('POST', `${path}/deployments`, 'ml', { body: { version: '0.0.2', percent: 10 } });
    expect(canary.status).toBe(200);
    const version = Number((await json(canary)).streamVersion);
    const [deployed] = await backend.store.readStream('model-weld-defects', { fromVersion: version });
    expect(deployed!.data).toMatchObject({ canary: true, weights: { '0.0.1': 90, '0.0.2': 10 } });

    const badSplit = await call('POST', `${path}/traffic`, 'ml', { body: { weights: { '0.0.1': 50, '0.0.2': 40 } } });
    expect(badSplit.status).toBe(422);
    const shifted = await call('POST', `${path}/traffic`, 'ml', {
      body: { weights: { '0.0.1': 50, '0.0.2': 50 }, reason: 'canary healthy' },
      headers: { 'if-match': `"${version}"` },
    });
    expect(shifted.status).toBe(200);

    const rolledBack = await call('POST', `${path}/rollback`, 'ml', {
      body: { toVersion: '0.0.1', reason: 'false positives' },
    });
    expect(rolledBack.status).toBe(200);
    expect((await call('POST', `${path}/shadows`, 'ml', { body: { version: '0.0.2' } })).status).toBe(200);
    const retireShadow = await call('POST', `${path}/versions/0.0.2/retire`, 'ml', { body: {} });
    expect(retireShadow.status).toBe(422);
    expect((await json(retireShadow)).code).toBe('model.is-shadow');
    expect((await call('DELETE', `${path}/shadows/0.0.2`, 'ml')).status).toBe(200);
    expect((await call('POST', `${path}/versions/0.0.2/retire`, 'ml', { body: { reason: 'superseded' } })).status).toBe(
      200,
    );

    const types = (await backend.store.readStream('model-weld-defects')).map((e) => e.type);
    expect(types.slice(-7)).toEqual([
      'ModelRegistered',
      'ModelDeployed',
      'TrafficShifted',
      'ModelRolledBack',
      'ShadowDeployed',
      'ShadowStopped',
      'ModelRetired',
    ]);

    await runner.caughtUp();
    const model = await json(await call('GET', path, 'viewer'));
    expect(model.weights).toEqual({ '0.0.1': 100 });
    const listed = await json(await call('GET', '/v1/models', 'viewer'));
    expect(listed.items.map((m: { name: string }) => m.name)).toEqual(['weld-defects']);
  });

  it('registers a version with the thresholds its deployments default to, and refuses bad ones', async () => {
    const bytes = await readFile(MODEL_FILE);
    const path = '/v1/models/thin-defects';
    const bad = await call('POST', `${path}/versions?version=1.0.0&iou=1.5`, 'ml', { raw: bytes });
    expect(bad.status).toBe(400);
    const problem = await json(bad);
    expect(problem).toMatchObject({ type: 'https://chitti.dev/problems/validation-failed' });
    expect(JSON.stringify(problem.errors)).toContain('iou');
    expect(await backend.store.readStream('model-thin-defects')).toHaveLength(0);

    const registered = await call('POST', `${path}/versions?version=1.0.0&iou=0.45`, 'ml', { raw: bytes });
    expect(registered.status).toBe(201);
    const measuredAt = { confidence: 0.25, iou: 0.45, maxDetections: 300 };
    await runner.caughtUp();
    const before = await json(await call('GET', path, 'viewer'));
    expect(before.versions[0]).toMatchObject({ version: '1.0.0', status: 'registered', thresholds: measuredAt });

    expect((await call('POST', `${path}/deployments`, 'ml', { body: { version: '1.0.0' } })).status).toBe(200);
    const [, deployed] = await backend.store.readStream('model-thin-defects');
    expect(deployed).toMatchObject({ type: 'ModelDeployed', data: { thresholds: measuredAt } });
  });

  it('takes per-class confidences at registration, deployment and request, and refuses bad ones with nothing written (issue 9)', async () => {
    const bytes = await readFile(MODEL_FILE); // classes porosity, crack, slag_inclusion, lack_of_fusion, undercut
    const path = '/v1/models/per-class';
    const register = (header: string, version = '1.0.0') =>
      call('POST', `${path}/versions?version=${version}`, 'ml', {
        raw: bytes,
        headers: { 'x-model-class-confidence': header },
      });
    const tooMany = JSON.stringify(Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`c${i}`, 0.5])));
    for (const header of ['{"crack":-0.1}', '{"crack":1.5}', '[0.5]', '0.5', '{"crack":"0.3"}', 'not json', tooMany]) {
      const refused = await register(header);
      expect(refused.status, header).toBe(400);
      expect(await json(refused)).toMatchObject({ type: 'https://chitti.dev/problems/validation-failed' });
    }
    const unknown = await register('{"crack":0.3,"slag":0.3}');
    expect(unknown.status).toBe(422);
    expect(await json(unknown)).toMatchObject({ code: 'model.unknown-class' });
    expect(await backend.store.readStream('model-per-class')).toHaveLength(0);

    expect((await register('{"crack":0.3,"porosity":0.65}')).status).toBe(201);
    const registeredAt = {
      confidence: 0.25,
      iou: 0.7,
      maxDetections: 300,
      classConfidence: { crack: 0.3, porosity: 0.65 },
    };
    await runner.caughtUp();
    const before = await json(await call('GET', path, 'viewer'));
    expect(before.versions[0]).toMatchObject({ version: '1.0.0', thresholds: registeredAt });

    const deploy = (thresholds: unknown) =>
      call('POST', `${path}/deployments`, 'ml', { body: { version: '1.0.0', thresholds } });
    for (const classConfidence of [{ crack: 2 }, { crack: -1 }, 'crack', [0.3], { '': 0.3 }, JSON.parse(tooMany)]) {
      // A JSON body that does not fit its schema is 422 validation-failed (a query or header: 400).
      const refused = await deploy({ classConfidence });
      expect(refused.status, JSON.stringify(classConfidence)).toBe(422);
      expect(await json(refused)).toMatchObject({ type: 'https://chitti.dev/problems/validation-failed' });
    }
    const unknownAtDeploy = await deploy({ classConfidence: { slag: 0.3 } });
    expect(unknownAtDeploy.status).toBe(422);
    expect(await json(unknownAtDeploy)).toMatchObject({ code: 'model.unknown-class' });
    expect(await backend.store.readStream('model-per-class')).toHaveLength(1);

    // Only the map given: it replaces the registered one whole; the rest stays as registered.
    expect((await deploy({ classConfidence: { crack: 0.35 } })).status).toBe(200);
    const [, deployed] = await backend.store.readStream('model-per-class');
    expect(deployed).toMatchObject({
      type: 'ModelDeployed',
      schemaVersion: 2,
      data: { thresholds: { ...registeredAt, classConfidence: { crack: 0.35 } } },
    });
    await runner.caughtUp();
    const after = await json(await call('GET', path, 'viewer'));
    expect(after.versions[0].thresholds).toEqual({ ...registeredAt, classConfidence: { crack: 0.35 } });

    const { body: file } = await uploadPng();
    const request = (thresholds: unknown) =>
      call('POST', '/v1/inspections', 'operator', {
        body: { fileId: file.fileId, model: { name: 'per-class' }, thresholds },
      });
    const outOfRange = await request({ classConfidence: { crack: 1.2 } });
    expect(outOfRange.status).toBe(422);
    expect(await json(outOfRange)).toMatchObject({ type: 'https://chitti.dev/problems/validation-failed' });
    const unknownAtRequest = await request({ classConfidence: { undercut: 0.5, slag: 0.3 } });
    expect(unknownAtRequest.status).toBe(422);
    expect(await json(unknownAtRequest)).toMatchObject({ code: 'model.unknown-class' });
    const accepted = await request({ classConfidence: { undercut: 0.5 } });
    expect(accepted.status).toBe(202);
    const { inspectionId: requested } = await json(accepted);
    const [event] = await backend.store.readStream(`inspection-${requested}`);
    expect(event).toMatchObject({
      type: 'InspectionRequested',
      schemaVersion: 3,
      data: { thresholds: { ...registeredAt, classConfidence: { undercut: 0.5 } } },
    });
  });

  it('records a version’s tiling at registration, and refuses tiles that would not advance', async () => {
    const bytes = await readFile(MODEL_FILE);
    const path = '/v1/models/large-radiographs';
    const overlapping = await call('POST', `${path}/versions?version=1.0.0&tileOverlapPx=160`, 'ml', { raw: bytes });
    expect(overlapping.status).toBe(422);
    expect(await json(overlapping)).toMatchObject({ code: 'model.tiling-overlap-too-large' });
    expect(await backend.store.readStream('model-large-radiographs')).toHaveLength(0);

    const query = 'version=1.0.0&tileOverlapPx=48&tileMmPerInputPixel=0.1&letterboxMaxShrink=1.5';
    expect((await call('POST', `${path}/versions?${query}`, 'ml', { raw: bytes })).status).toBe(201);
    const untiled = await call('POST', `${path}/versions?version=1.1.0`, 'ml', { raw: bytes });
    expect(untiled.status).toBe(201);
    const [tiled, whole] = await backend.store.readStream('model-large-radiographs');
    expect(tiled!.data).toMatchObject({ tiling: { overlapPx: 48, mmPerInputPixel: 0.1, maxLetterboxShrink: 1.5 } });
    expect(whole!.data).toMatchObject({ tiling: null });
  });
});

describe('statistics', () => {
  it('serves review stats, daily defects and projection status', async () => {
    await runner.caughtUp();
    for (const path of ['/v1/stats/reviews', '/v1/stats/daily-defects?from=2026-01-01', '/v1/projections']) {
      const response = await call('GET', path, 'viewer');
      expect(response.status).toBe(200);
      expect(Array.isArray((await json(response)).items)).toBe(true);
    }
    const status = await json(await call('GET', '/v1/projections', 'viewer'));
    expect(status.items.map((p: { name: string }) => p.name)).toContain('files');
    const bad = await call('GET', '/v1/stats/daily-defects?from=yesterday', 'viewer');
    expect(bad.status).toBe(400);
  });
});

describe('users and API keys', () => {
  it('issues a key that works once, and stops working once revoked', async () => {
    const created = await call('POST', '/v1/users', 'admin', {
      body: { userId: 'alice', email: 'alice@example.com', displayName: 'Alice', roles: ['reviewer'] },
    });
    expect(created.status).toBe(201);
    const issued = await call('POST', '/v1/users/alice/api-keys', 'admin', { body: { label: 'laptop' } });
    expect(issued.status).toBe(201);
    const { apiKey, keyId } = await json(issued);
    expect(apiKey).toMatch(/^chitti_[a-f0-9]{16}_[a-f0-9]{64}$/);
    const tokens = await tokensFor(server.url, apiKey);
    const claims = JSON.parse(Buffer.from(tokens.accessToken.split('.')[1]!, 'base64url').toString());
    expect(claims).toMatchObject({ sub: 'alice', roles: ['reviewer'] });

    const user = await call('GET', '/v1/users/alice', 'auditor');
    const userBody = await json(user);
    expect(userBody.apiKeys[keyId]).toMatchObject({ label: 'laptop', revoked: false });
    expect(JSON.stringify(userBody)).not.toMatch(/secretSha256/);

    expect((await call('DELETE', `/v1/users/alice/api-keys/${keyId}`, 'admin')).status).toBe(200);
    const exchange = await fetch(`${server.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey }),
    });
    expect(exchange.status).toBe(401);
    const refresh = await fetch(`${server.url}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: tokens.refreshToken }),
    });
    expect(refresh.status).toBe(401);
  });
});

describe('audit', () => {
  it('exports every event as NDJSON with hashes and records the export', async () => {
    const head = await backend.store.headPosition();
    const response = await call('GET', `/v1/audit/export?to=${head}`, 'auditor');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const lines = (await response.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThan(5);
    expect(lines.at(-1).globalPosition).toBe(head);
    expect(lines.every((l) => /^[a-f0-9]{64}$/.test(l.hash))).toBe(true);
    const positions = lines.map((l) => l.globalPosition);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    const day = new Date().toISOString().slice(0, 10);
    const exports = (await backend.store.readStream(`access-${day}`)).filter(
      (e) => (e.data as { action: string }).action === 'audit.export',
    );
    expect(exports).toHaveLength(1);
  });

  it('verifies the log, and forbids an operator to export', async () => {
    const verified = await call('GET', '/v1/audit/verify', 'auditor');
    expect(verified.status).toBe(200);
    expect(await json(verified)).toMatchObject({ ok: true, eventsChecked: expect.any(Number) });
    expect((await call('GET', '/v1/audit/export', 'operator')).status).toBe(403);
    const day = new Date().toISOString().slice(0, 10);
    const access = (await backend.store.readStream(`access-${day}`)).map((e) => ({
      ...(e.data as object),
      by: e.metadata.actor,
    }));
    expect(access).toContainEqual(
      expect.objectContaining({
        action: 'audit.export',
        decision: 'denied',
        reason: 'lacks audit:read',
        by: expect.stringMatching(/operator/),
      }),
    );
    expect(access).toContainEqual(expect.objectContaining({ action: 'audit.verify', decision: 'allowed' }));
  });

  it('publishes the seal keys to anyone, and an export carries its seals and keys for offline checks', async () => {
    const signingKey = generateSealSigningKey();
    await new Sealer(backend.pool, {
      signingKey,
      store: backend.store,
      rangeSize: 50,
      writerKeys: backend.writerKeys,
    }).sealUpTo();
    try {
      const keys = await fetch(`${server.url}/v1/audit/seal-keys`);
      expect(keys.status).toBe(200);
      expect((await json(keys)).items).toEqual([
        expect.objectContaining({ keyId: signingKey.published.keyId, publicKeyPem: signingKey.published.publicKeyPem }),
      ]);
      const head = await backend.store.headPosition();
      const text = await (await call('GET', `/v1/audit/export?to=${head}`, 'auditor')).text();
      const lines = text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const seals = lines.filter((l) => l.record === 'seal');
      const key = lines.find((l) => l.record === 'seal-key');
      expect(key).toMatchObject({ keyId: signingKey.published.keyId });
      expect(seals.length).toBeGreaterThan(0);
      // What an auditor does with node:crypto alone: rebuild each seal's message, check digest and signature.
      const publicKey = createPublicKey(key.publicKeyPem);
      for (const seal of seals) {
        const header = `chitti-seal-v2\n${seal.sealNumber}\n${seal.fromPosition}\n${seal.toPosition}\n${seal.prevDigest ?? ''}\n${seal.keyId}\n`;
        const message = Buffer.concat([Buffer.from(header), Buffer.from(seal.entries, 'base64')]);
        expect(createHash('sha256').update(message).digest('hex')).toBe(seal.digest);
        expect(verify(null, message, publicKey, Buffer.from(seal.signature, 'base64'))).toBe(true);
      }
    } finally {
      await backend.pool.query('DELETE FROM seals');
    }
  });

  it('replays any stream as of a time, and records the replay', async () => {
    const { body } = await uploadPng();
    const before = new Date(Date.now() - 60_000).toISOString();
    await call('POST', `/v1/files/${body.fileId}/tags`, 'operator', { body: { add: ['later'] } });
    const now = await call('GET', `/v1/audit/streams/file-${body.fileId}`, 'auditor');
    expect(now.status).toBe(200);
    const current = await json(now);
    expect(current).toMatchObject({ streamVersion: 2, state: { status: 'uploaded' } });
    const previous = await call(
      'GET',
      `/v1/audit/streams/file-${body.fileId}?asOf=${current.globalPosition - 1}`,
      'auditor',
    );
    expect((await json(previous)).streamVersion).toBe(1);
    const earlier = await call(
      'GET',
      `/v1/audit/streams/file-${body.fileId}?asOf=${encodeURIComponent(before)}`,
      'auditor',
    );
    expect(earlier.status).toBe(404);
    expect((await call('GET', `/v1/audit/streams/file-${body.fileId}`, 'operator')).status).toBe(403);
    const day = new Date().toISOString().slice(0, 10);
    const replays = (await backend.store.readStream(`access-${day}`))
      .map((e) => e.data as { action: string; resource: string; decision: string })
      .filter((a) => a.action === 'audit.replay' && a.resource.startsWith(`file-${body.fileId}`));
    expect(replays.map((r) => r.decision)).toEqual(['allowed', 'allowed', 'allowed', 'denied']);
  });

  it('serves the audit trail and search from the read side', async () => {
    await runner.caughtUp();
    const trail = await call('GET', '/v1/audit/trail?type=FileUploaded&limit=2', 'auditor');
    expect(trail.status).toBe(200);
    const page = await json(trail);
    expect(page.items).toHaveLength(2);
    expect(page.nextCursor).toEqual(expect.any(String));
    const detections = await call('GET', '/v1/detections?className=crack&minScore=0.5', 'viewer');
    expect(detections.status).toBe(200);
    expect(await json(detections)).toMatchObject({ items: [], freshness: expect.any(Object) });
    expect((await call('GET', '/v1/detections?verdict=unreviewed', 'viewer')).status).toBe(200);
    const badVerdict = await call('GET', '/v1/detections?verdict=pending', 'viewer');
    expect(badVerdict.status).toBe(400);
    expect(badVerdict.headers.get('content-type')).toContain('application/problem+json');
  });
});

describe('server-sent events', () => {
  it('streams events after Last-Event-ID with their global position as id', async () => {
    const head = await backend.store.headPosition();
    const controller = new AbortController();
    const response = await fetch(`${server.url}/v1/events/stream?category=file`, {
      headers: { ...bearer(token.operator), 'last-event-id': String(head) },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const { body } = await uploadPng();
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes(`"streamId":"file-${body.fileId}"`)) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += Buffer.from(chunk.value).toString();
    }
    controller.abort();
    const frame = text.split('\n\n').find((f) => f.includes(`file-${body.fileId}`))!;
    expect(frame).toMatch(/^id: \d+\nevent: FileUploaded\ndata: \{/);
    expect(Number(/^id: (\d+)/.exec(frame)![1])).toBeGreaterThan(head);
    expect(text).not.toContain('AccessRecorded'); // category filter
  });
});

describe('OpenAPI', () => {
  it('answers every read with exactly its documented response schema, for each role', async () => {
    await runner.caughtUp();
    // zod drops keys a schema does not name: "parses to itself" means valid and nothing undocumented.
    const conforms = async (schema: z.ZodType, path: string, who: keyof typeof token) => {
      const response = await call('GET', path, who);
      expect(response.status, path).toBe(200);
      const body = await json(response);
      expect(schema.parse(body), `${path} as ${who}`).toEqual(body);
      return body;
    };
    for (const who of ['admin', 'viewer'] as const) {
      const files = await conforms(PageOf(FileRow), '/v1/files?includeDeleted=true', who);
      expect(files.items.length).toBeGreaterThan(0);
      await conforms(FileRow, `/v1/files/${files.items[0].fileId}`, who);
      const inspections = await conforms(PageOf(InspectionRow), '/v1/inspections', who);
      expect(inspections.items.length).toBeGreaterThan(0);
      await conforms(InspectionDetail, `/v1/inspections/${inspections.items[0].inspectionId}`, who);
      const models = await conforms(ModelRows, '/v1/models', who);
      await conforms(ModelDetail, `/v1/models/${models.items[0].name}`, who);
      await conforms(ReviewStatsRows, '/v1/stats/reviews', who);
      await conforms(DailyDefectRows, '/v1/stats/daily-defects', who);
      await conforms(ProjectionStatusRows, '/v1/projections', who);
      await conforms(SearchPageOf(DetectionHitSchema), '/v1/detections', who);
    }
    await conforms(PageOf(AuditEntry), '/v1/audit/trail', 'auditor');
    await conforms(SearchPageOf(AuditHitSchema), '/v1/audit/search', 'auditor');
  });

  it('documents every mounted route', async () => {
    const document = await json(await fetch(`${server.url}/openapi.json`));
    const documented = Object.values(document.paths as Record<string, object>).reduce(
      (n: number, methods) => n + Object.keys(methods).length,
      0,
    );
    expect(documented).toBeGreaterThanOrEqual(30);
    const search = document.paths['/v1/detections'].get.parameters as { name: string; schema: { enum?: string[] } }[];
    expect(search.find((p) => p.name === 'verdict')?.schema.enum).toEqual([
      'unreviewed',
      'confirmed',
      'rejected',
      'relabelled',
    ]);
  });
});
