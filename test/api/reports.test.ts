import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordDetections, startInference } from '../../commands/index.js';
import { SAMPLE_PROFILE } from '../../domain/acceptance/index.js';
import { isolatedEnv, runChitti } from '../e2e/support.js';
import { bearer, caller, type FullApi, json, KEY_A, seedUser, startFullApi, tokensFor } from './support/harness.js';

const run = promisify(execFile);
const SAMPLE = new URL('../../inference/samples/weld-9001056.png', import.meta.url);
/** The sample's size: the recorded detections below are drawn on it. */
const SAMPLE_WIDTH = 336;
const SAMPLE_HEIGHT = 308;
const MODEL_FILE = new URL('../../inference/models/weld-defects-0.0.1-untrained.onnx', import.meta.url);

let api: FullApi;
let dir: string;
const token = { admin: '', reviewer: '', auditor: '', viewer: '' };
const users: Record<keyof typeof token, string> = { admin: '', reviewer: '', auditor: '', viewer: '' };
let inspectionId: string;
let fileSha256: string;
let modelSha256: string;

const call = caller(() => api.server.url, token);

const streamOf = () => api.backend.store.readStream(`inspection-${inspectionId}`);
const caughtUp = () => api.runner.caughtUp();
const box = (x1: number, y1: number, w: number, h: number) => ({ x1, y1, x2: x1 + w, y2: y1 + h });

beforeAll(async () => {
  api = await startFullApi({ jwtKeys: [KEY_A], defaultModelName: 'weld-defects' });
  dir = await mkdtemp(join(tmpdir(), 'chitti-reports-'));
  const roles = { admin: 'admin', reviewer: 'reviewer', auditor: 'auditor', viewer: 'viewer' } as const;
  for (const [who, role] of Object.entries(roles)) {
    const user = await seedUser(api.backend, [role]);
    users[who as keyof typeof token] = user.userId;
    token[who as keyof typeof token] = (await tokensFor(api.server.url, user.apiKey)).accessToken;
  }
  const model = await readFile(MODEL_FILE);
  modelSha256 = createHash('sha256').update(model).digest('hex');
  expect((await call('POST', '/v1/models/weld-defects/versions?version=0.0.1', 'admin', { raw: model })).status).toBe(
    201,
  );
  expect(
    (await call('POST', '/v1/models/weld-defects/deployments', 'admin', { body: { version: '0.0.1' } })).status,
  ).toBe(200);
  // The same network as a second version, run in shadow, so the report can show shadow boxes on request.
  expect((await call('POST', '/v1/models/weld-defects/versions?version=0.0.2', 'admin', { raw: model })).status).toBe(
    201,
  );
  expect((await call('POST', '/v1/models/weld-defects/shadows', 'admin', { body: { version: '0.0.2' } })).status).toBe(
    200,
  );
  const image = await readFile(SAMPLE);
  fileSha256 = createHash('sha256').update(image).digest('hex');
  const upload = await fetch(`${api.server.url}/v1/files?name=weld-9001056.png`, {
    method: 'POST',
    headers: { ...bearer(token.admin), 'content-type': 'image/png' },
    body: image,
  });
  const fileId = (await json(upload)).fileId as string;
  const requested = await call('POST', '/v1/inspections', 'admin', { body: { fileId } });
  inspectionId = (await json(requested)).inspectionId;
  const ctx = { actor: 'worker-1', correlationId: 'c1' };
  const deps = { store: api.backend.store };
  await startInference(deps, { inspectionId, attempt: 1, worker: 'w1' }, ctx);
  const [requestedEvent] = await streamOf();
  const {
    model: chosen,
    thresholds,
    shadows,
  } = requestedEvent!.data as {
    model: object;
    thresholds: object;
    shadows: object[];
  };
  expect(shadows).toHaveLength(1);
  await recordDetections(
    deps,
    {
      inspectionId,
      role: 'shadow',
      model: shadows[0],
      detections: [{ detectionId: 'd0', classId: 0, className: 'porosity', score: 0.77, box: box(20, 20, 30, 30) }],
      image: { width: SAMPLE_WIDTH, height: SAMPLE_HEIGHT },
      window: null,
      thresholds,
      timings: { queueMs: 1, preprocessMs: 2, inferenceMs: 20, postprocessMs: 1 },
      batchSize: 1,
      cached: false,
    } as never,
    ctx,
  );
  await recordDetections(
    deps,
    {
      inspectionId,
      role: 'live',
      model: chosen,
      detections: [
        { detectionId: 'd0', classId: 0, className: 'porosity', score: 0.91, box: box(170, 110, 9, 9) },
        { detectionId: 'd1', classId: 1, className: 'crack', score: 0.62, box: box(40, 200, 120, 5) },
        { detectionId: 'd2', classId: 2, className: 'slag_inclusion', score: 0.48, box: box(250, 140, 60, 6) },
      ],
      image: { width: SAMPLE_WIDTH, height: SAMPLE_HEIGHT },
      window: null,
      thresholds,
      timings: { queueMs: 1, preprocessMs: 2, inferenceMs: 20, postprocessMs: 1 },
      batchSize: 1,
      cached: false,
    } as never,
    ctx,
  );
});

afterAll(async () => {
  await api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('acceptance profiles and verdicts over HTTP', () => {
  const counts = {
    profileId: 'counts-only',
    name: 'Counts only',
    rules: [
      { id: 'no-cracks', kind: 'not-permitted', classes: ['crack'], description: 'no cracks' },
      { id: 'few-pores', kind: 'max-count', classes: ['porosity'], max: 2, description: 'at most 2 pores' },
    ],
  };

  it('creates profiles (the sample one marked as a sample), each once; only profiles:manage may', async () => {
    const created = await call('POST', '/v1/acceptance-profiles', 'admin', { body: SAMPLE_PROFILE });
    expect(created.status).toBe(201);
    const repeat = await call('POST', '/v1/acceptance-profiles', 'admin', { body: SAMPLE_PROFILE });
    expect(repeat.status).toBe(201);
    expect((await call('POST', '/v1/acceptance-profiles', 'admin', { body: counts })).status).toBe(201);
    expect((await call('POST', '/v1/acceptance-profiles', 'reviewer', { body: counts })).status).toBe(403);
    const bad = await call('POST', '/v1/acceptance-profiles', 'admin', {
      body: {
        ...counts,
        profileId: 'bad',
        rules: [{ id: 'x', kind: 'max-size', classes: ['porosity'], maxMm: -1, description: '' }],
      },
    });
    expect(bad.status).toBe(422);
    expect(await api.backend.store.readStream('acceptance-profile-bad')).toHaveLength(0);
    const read = await json(await call('GET', `/v1/acceptance-profiles/${SAMPLE_PROFILE.profileId}`, 'viewer'));
    expect(read).toMatchObject({
      sample: true,
      status: 'active',
      revisions: [{ revision: 1, rules: SAMPLE_PROFILE.rules }],
    });
    expect(await api.backend.store.readStream(`acceptance-profile-${SAMPLE_PROFILE.profileId}`)).toHaveLength(1);
  });

  it('records verdicts that count reviews, say indeterminate when mm are unknown, and survive later revisions', async () => {
    expect(
      (
        await call('POST', `/v1/inspections/${inspectionId}/detections/d1/review`, 'reviewer', {
          body: { verdict: 'rejected' },
        })
      ).status,
    ).toBe(200);
    const sample = await call('POST', `/v1/inspections/${inspectionId}/evaluations`, 'reviewer', {
      body: { profileId: SAMPLE_PROFILE.profileId },
    });
    expect(sample.status).toBe(200);
    const countsVerdict = await call('POST', `/v1/inspections/${inspectionId}/evaluations`, 'reviewer', {
      body: { profileId: 'counts-only' },
    });
    expect(countsVerdict.status).toBe(200);
    // The same question again, nothing changed: nothing recorded.
    const again = await json(
      await call('POST', `/v1/inspections/${inspectionId}/evaluations`, 'reviewer', {
        body: { profileId: 'counts-only' },
      }),
    );
    expect(again.globalPosition).toBeNull();
    expect(
      (
        await call('POST', `/v1/inspections/${inspectionId}/evaluations`, 'viewer', {
          body: { profileId: 'counts-only' },
        })
      ).status,
    ).toBe(403);
    expect(
      (await call('POST', `/v1/inspections/${inspectionId}/evaluations`, 'reviewer', { body: { profileId: 'nope' } }))
        .status,
    ).toBe(404);

    const verdicts = (await json(await call('GET', `/v1/inspections/${inspectionId}/evaluations`, 'viewer'))).items;
    expect(verdicts.map((v: { verdict: string }) => v.verdict)).toEqual(['indeterminate', 'accept']);
    const [first, second] = verdicts;
    expect(first.pixelSpacingMm).toBeNull();
    expect(first.excluded).toEqual(['d1']);
    expect(first.detections.map((d: { detectionId: string }) => d.detectionId)).toEqual(['d0', 'd2']);
    expect(first.rules.find((r: { ruleId: string }) => r.ruleId === 'largest-pore')).toMatchObject({
      outcome: 'indeterminate',
      measured: null,
    });
    expect(first.rules.find((r: { ruleId: string }) => r.ruleId === 'no-cracks')).toMatchObject({
      outcome: 'pass',
      measured: 0,
    });
    expect(second.profile).toEqual({ profileId: 'counts-only', name: 'Counts only', revision: 1 });

    await caughtUp();
    const row = await json(await call('GET', `/v1/inspections/${inspectionId}`, 'viewer'));
    expect(row.verdict).toMatchObject({
      verdict: 'accept',
      profileId: 'counts-only',
      revision: 1,
      evaluatedBy: users.reviewer,
    });
    const accepted = await json(await call('GET', '/v1/inspections?verdict=accept', 'viewer'));
    expect(accepted.items.map((i: { inspectionId: string }) => i.inspectionId)).toEqual([inspectionId]);
    expect((await json(await call('GET', '/v1/inspections?verdict=reject', 'viewer'))).items).toEqual([]);

    const revised = await call('POST', '/v1/acceptance-profiles/counts-only/revisions', 'admin', {
      body: { rules: [{ ...counts.rules[1], max: 0 }], note: 'no pores at all' },
    });
    expect(revised.status).toBe(200);
    const closed = await call('POST', `/v1/inspections/${inspectionId}/close`, 'reviewer', {
      body: { outcome: 'rejected', profileId: 'counts-only' },
    });
    expect(closed.status).toBe(200);
    const after = (await json(await call('GET', `/v1/inspections/${inspectionId}/evaluations`, 'viewer'))).items;
    expect(after).toHaveLength(3);
    expect(after[1]).toEqual(second);
    expect(after[2]).toMatchObject({ verdict: 'reject', profile: { revision: 2 } });
    expect((await streamOf()).slice(-2).map((e) => e.type)).toEqual(['InspectionEvaluated', 'InspectionClosed']);
  });
});

describe('reports', () => {
  let pdf: Buffer;
  let pdfPath: string;

  it('issues a PDF with the image, detections, verdict, model, file identity, history and provenance, and records it once', async () => {
    const response = await call('GET', `/v1/inspections/${inspectionId}/report`, 'auditor', {
      headers: { accept: 'application/pdf' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/pdf');
    pdf = Buffer.from(await response.arrayBuffer());
    const sha = createHash('sha256').update(pdf).digest('hex');
    expect(response.headers.get('chitti-report-sha256')).toBe(sha);
    pdfPath = join(dir, 'report.pdf');
    await writeFile(pdfPath, pdf);
    const { stdout } = await run('pdftotext', ['-layout', pdfPath, '-']);
    const text = stdout.replace(/\s+/g, ' ');
    const events = (await streamOf()).filter((e) => e.type !== 'ReportIssued');
    expect(text).toContain(inspectionId);
    expect(text).toContain(fileSha256);
    expect(text).toContain(modelSha256);
    expect(text).toContain('REJECT against Counts only (counts-only, revision 2)');
    expect(text).toContain('few-pores');
    expect(text).toMatch(/d1 crack 0\.620 .*rejected/);
    expect(text).toContain('pixels only, mm rules indeterminate');
    for (const event of events) expect(text).toContain(event.hash);
    expect(text).toContain('chitti report verify');
    expect(text).toContain(`${users.reviewer} rejected detection d1`);
    const pages = await run('pdfimages', ['-list', pdfPath]);
    expect(pages.stdout.split('\n').filter((l) => /^\s+\d+\s+\d+\s+image/.test(l)).length).toBeGreaterThanOrEqual(1);

    const issued = (await streamOf()).filter((e) => e.type === 'ReportIssued');
    expect(issued).toHaveLength(1);
    expect(issued[0]!.data).toMatchObject({
      reportSha256: sha,
      sizeBytes: pdf.length,
      format: 'pdf',
      asOf: null,
      issuedBy: users.auditor,
      covers: { streamVersion: events.at(-1)!.streamVersion, eventHash: events.at(-1)!.hash },
    });
    // The same report to the same person: the same bytes, recorded once.
    const again = Buffer.from(
      await (await call('GET', `/v1/inspections/${inspectionId}/report?format=pdf`, 'auditor')).arrayBuffer(),
    );
    expect(again.equals(pdf)).toBe(true);
    expect((await streamOf()).filter((e) => e.type === 'ReportIssued')).toHaveLength(1);
  });

  it('gives HTML by content negotiation, CSV and JSON by ?format=, and the report as it stood with ?asOf=', async () => {
    const html = await call('GET', `/v1/inspections/${inspectionId}/report`, 'viewer', {
      headers: { accept: 'text/html' },
    });
    expect(html.headers.get('content-type')).toContain('text/html');
    const page = await html.text();
    expect(page).toContain('src="data:image/png;base64,');
    expect(page).toContain('REJECT against Counts only');
    const csv = await (await call('GET', `/v1/inspections/${inspectionId}/report?format=csv`, 'viewer')).text();
    const lines = csv.trim().split('\r\n');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toContain('"crack"');
    expect(lines[2]).toContain('"rejected"');

    const requestedAt = (await streamOf())[0]!.globalPosition;
    const denied = await call(
      'GET',
      `/v1/inspections/${inspectionId}/report?format=json&asOf=${requestedAt}`,
      'viewer',
    );
    expect(denied.status).toBe(403);
    const before = await json(
      await call('GET', `/v1/inspections/${inspectionId}/report?format=json&asOf=${requestedAt}`, 'auditor'),
    );
    expect(before.detections).toEqual([]);
    expect(before.evaluations).toEqual([]);
    expect(before.history.map((e: { type: string }) => e.type)).toEqual(['InspectionRequested']);
    const issued = (await streamOf())
      .filter((e) => e.type === 'ReportIssued')
      .map((e) => e.data as { format: string; asOf: string | null; issuedBy: string });
    expect(issued).toContainEqual(
      expect.objectContaining({ format: 'json', asOf: `position=${requestedAt}`, issuedBy: users.auditor }),
    );
    expect(issued).toContainEqual(expect.objectContaining({ format: 'csv', asOf: null, issuedBy: users.viewer }));
    const withShadow = await (
      await call('GET', `/v1/inspections/${inspectionId}/report?format=csv&shadow=true`, 'viewer')
    ).text();
    expect(withShadow.trim().split('\r\n')).toHaveLength(5);
    expect(withShadow).toContain('"shadow","weld-defects@0.0.2","d0","porosity","0.770"');
    expect(csv).not.toContain('"shadow"');
    expect((await call('GET', `/v1/inspections/${inspectionId}/report?format=docx`, 'viewer')).status).toBe(400);
    expect((await call('GET', '/v1/inspections/no-such/report', 'viewer')).status).toBe(404);
  });

  it('draws the annotated image as PNG at full size', async () => {
    const annotated = await call('GET', `/v1/inspections/${inspectionId}/image?annotated=true`, 'viewer');
    expect(annotated.headers.get('content-type')).toBe('image/png');
    const drawn = Buffer.from(await annotated.arrayBuffer());
    const plain = Buffer.from(
      await (await call('GET', `/v1/inspections/${inspectionId}/image?annotated=false`, 'viewer')).arrayBuffer(),
    );
    expect(await sharp(drawn).metadata()).toMatchObject({ width: SAMPLE_WIDTH, height: SAMPLE_HEIGHT, format: 'png' });
    const a = await sharp(drawn).removeAlpha().toColourspace('srgb').raw().toBuffer();
    const b = await sharp(plain).removeAlpha().toColourspace('srgb').raw().toBuffer();
    // The box of d0 (x 170..179, y 110..119) is drawn in colour on a grey image.
    const at = (buf: Buffer, x: number, y: number) => [
      ...buf.subarray((y * SAMPLE_WIDTH + x) * 3, (y * SAMPLE_WIDTH + x) * 3 + 3),
    ];
    const [r, g, bl] = at(a, 174, 110);
    expect(new Set([r, g, bl]).size).toBeGreaterThan(1);
    const [pr, pg, pb] = at(b, 174, 110);
    expect(pr === pg && pg === pb).toBe(true);
  });

  // Three CLI starts (node + tsx): one took 49 s on a loaded 2-core machine, so more than the 60 s default.
  it('verifies the issued file, refuses a tampered copy, and notices a tampered history (API and CLI)', {
    timeout: 300_000,
  }, async () => {
    const verify = async (bytes: Buffer) => json(await call('POST', '/v1/reports/verify', 'auditor', { raw: bytes }));
    await caughtUp();
    const ok = await verify(pdf);
    expect(ok).toMatchObject({
      issued: true,
      issuances: [{ inspectionId, format: 'pdf', issuedBy: users.auditor }],
      history: { ok: true, coveredEventStillRecorded: true, auditOk: true },
    });
    const tampered = Buffer.from(pdf);
    const at = tampered.indexOf('REJECT');
    tampered.write(at >= 0 ? 'ACCEPT' : 'x', Math.max(0, at));
    expect(await verify(tampered)).toMatchObject({ issued: false, history: null });
    expect((await call('POST', '/v1/reports/verify', 'viewer', { raw: pdf })).status).toBe(403);

    const env = isolatedEnv({
      DATABASE_URL: api.backend.db.url,
      LOG_LEVEL: 'warn',
      // The install's writer keys: a process without them refuses to run beside MACed events.
      WRITER_KEYS: api.backend.writerKeys.current.secret.toString('base64url'),
    });
    const cli = await runChitti(['report', 'verify', pdfPath], env);
    expect(cli.code, cli.output).toBe(0);
    expect(JSON.parse(cli.output.slice(cli.output.indexOf('{')))).toMatchObject({
      issued: true,
      history: { ok: true },
    });
    const forged = join(dir, 'forged.pdf');
    await writeFile(forged, tampered);
    const refused = await runChitti(['report', 'verify', forged], env);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.output.slice(refused.output.indexOf('{')))).toMatchObject({ issued: false });

    // Someone edits the review the report was made from: the file is still the one issued, its history no longer verifies.
    await api.backend.pool.query(
      `UPDATE events SET data = jsonb_set(data, '{verdict}', '"confirmed"') WHERE stream_id = $1 AND type = 'DetectionReviewed'`,
      [`inspection-${inspectionId}`],
    );
    const broken = await verify(pdf);
    expect(broken).toMatchObject({ issued: true, history: { ok: false, auditOk: false } });
    const cliBroken = await runChitti(['report', 'verify', pdfPath], env);
    expect(cliBroken.code).toBe(1);
  });
});
