import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBundledModel } from '../../cli/bootstrap.js';
import { DEFAULT_THRESHOLDS } from '../../schemas/events/index.js';
import {
  type ChittiProcess,
  freePort,
  isolatedEnv,
  REPO,
  runChitti,
  startChitti,
  stopLeftoverPostgres,
  waitUntilReady,
} from './support.js';

interface PlantedDefect {
  class: string;
  box: [number, number, number, number];
  foundBy: { score: number; iou: number } | null;
}
interface Sample {
  file: string;
  defects: PlantedDefect[];
}

const iou = (a: readonly number[], b: readonly number[]) => {
  const [ax1, ay1, ax2, ay2] = a as [number, number, number, number];
  const [bx1, by1, bx2, by2] = b as [number, number, number, number];
  const w = Math.max(0, Math.min(ax2, bx2) - Math.max(ax1, bx1));
  const h = Math.max(0, Math.min(ay2, by2) - Math.max(ay1, by1));
  const inter = w * h;
  return inter / ((ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter);
};

/** The shipped sample whose planted defect the shipped model finds most surely. */
async function clearestSample(): Promise<{ path: string; defect: PlantedDefect }> {
  const doc = JSON.parse(await readFile(join(REPO, 'inference/samples/samples.json'), 'utf8')) as { samples: Sample[] };
  const candidates = doc.samples.flatMap((s) => s.defects.filter((d) => d.foundBy).map((defect) => ({ s, defect })));
  candidates.sort((a, b) => b.defect.foundBy!.score - a.defect.foundBy!.score);
  const best = candidates[0];
  if (!best) throw new Error('samples.json lists no defect the shipped model finds');
  return { path: join(REPO, 'inference/samples', best.s.file), defect: best.defect };
}

/** A viewer registered through the API with the admin key `chitti start` wrote into the data folder. */
async function viewerToken(url: string, dataDir: string) {
  const exchange = async (apiKey: string) => {
    const response = await fetch(`${url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey }),
    });
    return { authorization: `Bearer ${((await response.json()) as { accessToken: string }).accessToken}` };
  };
  const admin = await exchange((await readFile(join(dataDir, 'admin-api-key'), 'utf8')).trim());
  const post = (path: string, body: object) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const userId = 'e2e-viewer';
  await post('/v1/users', { userId, email: 'viewer@example.com', displayName: 'Viewer', roles: ['viewer'] });
  const issued = (await (await post(`/v1/users/${userId}/api-keys`, { label: 'e2e' })).json()) as { apiKey: string };
  return { userId, headers: await exchange(issued.apiKey) };
}

// Two starts (waitUntilReady allows 120 s each) and two inspections (--timeout 120 each): the 60 s
// default timed the test out on a loaded machine while every wait inside was still within its deadline.
describe('npm start (chitti start, embedded defaults)', { timeout: 600_000 }, () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let url: string;
  let metricsUrl: string;
  let chitti: ChittiProcess | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'chitti-e2e-'));
    await chmod(dataDir, 0o711); // the embedded server's own user must pass through it
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}`;
    env = isolatedEnv({
      METRICS_PORT: String(metricsPort),
      CHITTI_DATA_DIR: dataDir,
      PORT: String(port),
      EMBEDDED_PG_PORT: String(await freePort()),
    });
  });

  afterAll(async () => {
    await chitti?.stop('SIGKILL');
    await stopLeftoverPostgres(dataDir);
    await rm(dataDir, { recursive: true, force: true });
  });

  // Two full starts and two inferences: over a minute on a busy 2-core machine.
  it('inspects a shipped radiograph with the bundled model, and keeps the data across a restart', {
    timeout: 240_000,
  }, async () => {
    chitti = startChitti(['start'], env);
    await waitUntilReady(url, chitti);
    // Prometheus metrics on the metrics port only, not next to the API.
    expect((await fetch(`${url}/metrics`)).status).toBe(404);
    const metrics = await fetch(`${metricsUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/chitti_http_requests_total/);

    const sample = await clearestSample();
    const inspect = await runChitti(['inspect', sample.path, '--url', url, '--json', '--timeout', '120'], env);
    expect(inspect.code, inspect.output).toBe(0);
    const inspection = JSON.parse(inspect.output.slice(inspect.output.indexOf('{'))) as {
      inspectionId: string;
      status: string;
      model: { name: string; sha256: string };
      thresholds: { confidence: number; iou: number; maxDetections: number };
      detections: {
        role: string;
        className: string;
        score: number;
        box: { x1: number; y1: number; x2: number; y2: number };
      }[];
    };
    expect(inspection.status).toBe('detected');
    expect(inspection.model.name).toBe('weld-defects');
    // ran at the thresholds the model ships with, not the global defaults
    expect(inspection.thresholds).toEqual((await findBundledModel('weld-defects'))?.thresholds);
    expect(inspection.thresholds).not.toEqual(DEFAULT_THRESHOLDS);
    const found = inspection.detections.filter(
      (d) =>
        d.role === 'live' &&
        d.className === sample.defect.class &&
        iou([d.box.x1, d.box.y1, d.box.x2, d.box.y2], sample.defect.box) >= 0.5,
    );
    expect(found.length, JSON.stringify(inspection.detections)).toBeGreaterThan(0);

    // Refused time travel by a viewer: the repeats are only counted, and a clean stop writes the count.
    const viewer = await viewerToken(url, dataDir);
    for (let i = 0; i < 3; i++) {
      const refused = await fetch(`${url}/v1/inspections/${inspection.inspectionId}?asOf=1`, {
        headers: viewer.headers,
      });
      expect(refused.status).toBe(403);
    }

    expect(await chitti.stop('SIGTERM')).toBe(0);
    // The seal key was generated into the data folder on the first start, private, and is reused.
    const sealKey = join(dataDir, 'seal-key.pem');
    expect((await stat(sealKey)).mode & 0o777).toBe(0o600);
    const firstKey = await readFile(sealKey, 'utf8');

    chitti = startChitti(['start'], env);
    await waitUntilReady(url, chitti);
    const again = await runChitti(['inspect', sample.path, '--url', url, '--json', '--timeout', '120'], env);
    expect(again.code, again.output).toBe(0);
    const token = await (
      await fetch(`${url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ apiKey: (await readFile(join(dataDir, 'admin-api-key'), 'utf8')).trim() }),
      })
    ).json();
    const headers = { authorization: `Bearer ${(token as { accessToken: string }).accessToken}` };
    const before = await fetch(`${url}/v1/inspections/${inspection.inspectionId}`, { headers });
    expect(before.status).toBe(200);
    expect(((await before.json()) as { status: string }).status).toBe('detected');
    expect(await readFile(sealKey, 'utf8')).toBe(firstKey);
    // The sealer runs every second: wait until a verified, anchored seal covers the inspection.
    const deadline = Date.now() + 120_000;
    let report: { ok: boolean; sealedUpTo: number; anchoredSealsChecked: number } | undefined;
    for (;;) {
      report = (await (await fetch(`${url}/v1/audit/verify`, { headers })).json()) as typeof report;
      expect(report).toMatchObject({ ok: true });
      if (report!.anchoredSealsChecked > 0 && report!.sealedUpTo > 0) break;
      if (Date.now() > deadline) throw new Error(`never sealed: ${JSON.stringify(report)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    // One trace from the HTTP request through the command, the event metadata and the inference.
    const exported = await (await fetch(`${url}/v1/audit/export`, { headers })).text();
    const stream = exported
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { streamId: string; type: string; metadata: { traceparent?: string } })
      .filter((e) => e.streamId === `inspection-${inspection.inspectionId}`);
    const traceOf = (type: string) => stream.find((e) => e.type === type)?.metadata.traceparent?.split('-')[1];
    const denials = exported
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; metadata: { actor: string }; data: { count: number } })
      .filter((e) => e.type === 'AccessRecorded' && e.metadata.actor === viewer.userId);
    expect(denials.length).toBeLessThanOrEqual(2);
    expect(denials.reduce((n, e) => n + e.data.count, 0)).toBe(3);
    expect(traceOf('InspectionRequested')).toMatch(/^[a-f0-9]{32}$/);
    expect(traceOf('DetectionsRecorded')).toBe(traceOf('InspectionRequested'));
    expect(await chitti.stop('SIGTERM')).toBe(0);
  });
});
