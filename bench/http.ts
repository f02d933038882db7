/**
 * `npm run bench http`: the HTTP path as a user meets it. Starts `chitti start` (the whole
 * embedded process: API, projector, search, inference, sealer; its own OpenTelemetry and logs) on
 * a fresh database of the bench server, with the rate limit at its maximum, and a bare express 5
 * baseline that verifies the same JWT with a KeyObject and answers the same JSON from memory. Both
 * are child processes on loopback; autocannon (10 connections) loads each in turn, in one run.
 * Prints req/s, p50/p99 and Chitti/baseline for GET by id, a detection search and /health/live,
 * then one tag command over HTTP: sequential p50/p99 and the throughput of 8 clients against 1,
 * then upload → detections visible: a radiograph uploaded, its inspection requested, and
 * `GET /v1/inspections/{id}` polled every 10 ms until it shows the detections, one client after
 * another and then 8 at once (each upload a distinct image, so the prediction cache never answers).
 *
 * BENCH_HTTP_SECONDS (default 10) per load; BENCH_HTTP_COMMANDS (default 200) tag commands;
 * BENCH_HTTP_UPLOADS (default 40) uploads per upload run; BENCH_HTTP_ONLY picks parts
 * (comma list of `get`, `search`, `live`, `tags`, `upload`; default all); BENCH_HTTP_NODE_ARGS are
 * passed to Chitti's node (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`), so a profile is taken under
 * the same load.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSecretKey } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import express from 'express';
import jwt from 'jsonwebtoken';
import sharp from 'sharp';
import { randomSecret } from '../infra/secrets.js';
import { createBenchDatabase, runIfMain } from './support.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 10);
const CONNECTIONS = 10;
const COMMANDS = Number(process.env.BENCH_HTTP_COMMANDS ?? 200);
const UPLOADS = Number(process.env.BENCH_HTTP_UPLOADS ?? 40);
const ONLY = new Set((process.env.BENCH_HTTP_ONLY ?? 'get,search,live,tags,upload').split(',').map((s) => s.trim()));
/** How often a client waiting for its detections asks again. */
const POLL_MS = 10;
const SAMPLE = join(ROOT, 'inference/samples/weld-9000000.png');

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, deadlineMs = 180_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = once(child, 'exit').then(() => undefined);
  child.kill('SIGTERM');
  return exited;
}

interface Load {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
  /** CPU time of the server process (not PostgreSQL's) per request answered: steadier than req/s on a busy machine. */
  readonly cpuMsPerRequest: number;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

async function load(url: string, headers: Record<string, string>, server: ChildProcess): Promise<Load> {
  const cpuBefore = await cpuSeconds(server.pid!);
  const result = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, headers });
  const cpu = (await cpuSeconds(server.pid!)) - cpuBefore;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx + result.errors,
    cpuMsPerRequest: (cpu * 1000) / Math.max(1, result.requests.total),
  };
}

const show = (l: Load) =>
  `${l.rps.toFixed(0).padStart(6)} req/s  p50 ${String(l.p50).padStart(4)} ms  p99 ${String(l.p99).padStart(4)} ms  server CPU ${l.cpuMsPerRequest.toFixed(2)} ms/req${l.non2xx ? `  (${l.non2xx} not 2xx!)` : ''}`;

const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

/**
 * One loop per file, each sending its share of `total` tag commands one after another: clients on
 * different streams, as users on different files are (one stream's writes are serialised by design).
 */
async function commands(base: string, token: string, fileIds: readonly string[], total: number) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    fileIds.map(async (fileId) => {
      while (next < total) {
        const n = next++;
        const t0 = performance.now();
        const response = await fetch(`${base}/v1/files/${fileId}/tags`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(n % 2 === 0 ? { add: ['bench'] } : { remove: ['bench'] }),
        });
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`tag command answered ${response.status}`);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { perSecond: total / seconds, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
}

/** `count` PNGs of the sample radiograph, each with one pixel changed: distinct bytes, same detections. */
async function distinctRadiographs(count: number): Promise<Buffer[]> {
  const { data, info } = await sharp(await readFile(SAMPLE))
    .raw({ depth: 'ushort' })
    .toBuffer({ resolveWithObject: true });
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const pixels = Buffer.from(data);
    pixels.writeUInt16LE(i + 1, 0);
    pixels.writeUInt16LE(Math.floor(i / 65_535), 2);
    out.push(
      await sharp(pixels, { raw: { width: info.width, height: info.height, channels: info.channels } })
        .toColourspace('grey16')
        .png()
        .toBuffer(),
    );
  }
  return out;
}

/**
 * Upload → detections visible, as a client sees it: upload, request the inspection, then poll the
 * inspection every 10 ms until it is detected. `clients` loops share the images.
 */
async function uploadsVisible(base: string, token: string, images: readonly Buffer[], clients: number) {
  const auth = { authorization: `Bearer ${token}` };
  const latencies: number[] = [];
  const phases = { upload: [] as number[], request: [] as number[], visible: [] as number[] };
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < images.length) {
        const image = images[next++]!;
        const t0 = performance.now();
        const uploaded = await fetch(`${base}/v1/files`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'image/png', 'x-file-name': `visible-${next}.png` },
          body: image,
        });
        if (uploaded.status !== 201 && uploaded.status !== 200) throw new Error(`upload answered ${uploaded.status}`);
        const { fileId } = (await uploaded.json()) as { fileId: string };
        const t1 = performance.now();
        const requested = await fetch(`${base}/v1/inspections`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ fileId }),
        });
        if (requested.status !== 202 && requested.status !== 201) {
          throw new Error(`inspection request answered ${requested.status}`);
        }
        const { inspectionId } = (await requested.json()) as { inspectionId: string };
        const t2 = performance.now();
        for (;;) {
          const response = await fetch(`${base}/v1/inspections/${inspectionId}`, { headers: auth });
          const body = (await response.json()) as { status?: string };
          if (body.status === 'detected') break;
          if (body.status === 'failed') throw new Error(`inspection ${inspectionId} failed`);
          await new Promise((r) => setTimeout(r, POLL_MS));
        }
        const t3 = performance.now();
        latencies.push(t3 - t0);
        phases.upload.push(t1 - t0);
        phases.request.push(t2 - t1);
        phases.visible.push(t3 - t2);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const median = (values: number[]) =>
    quantile(
      values.sort((a, b) => a - b),
      0.5,
    );
  return {
    perSecond: images.length / seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    phases: `upload ${median(phases.upload).toFixed(0)} ms, request ${median(phases.request).toFixed(0)} ms, until visible ${median(phases.visible).toFixed(0)} ms`,
  };
}

/** The baseline: bare express 5, the same JWT check with a KeyObject, the same bodies from memory. */
function baselineServer(): void {
  const key = createSecretKey(Buffer.from(process.env.BASELINE_SECRET ?? '', 'utf8'));
  const bodies = JSON.parse(process.env.BASELINE_BODIES ?? '{}') as Record<string, unknown>;
  const options = { algorithms: ['HS256' as const], issuer: 'chitti', audience: 'chitti-api' };
  const app = express();
  const authed = (req: express.Request, res: express.Response, next: express.NextFunction) => {
    const token = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1];
    try {
      jwt.verify(token ?? '', key, options);
      next();
    } catch {
      res.status(401).json({ title: 'Unauthorized' });
    }
  };
  app.get('/v1/inspections/:id', authed, (_req, res) => {
    res.json(bodies.inspection);
  });
  app.get('/v1/detections', authed, (_req, res) => {
    res.json(bodies.detections);
  });
  app.get('/health/live', (_req, res) => {
    res.json(bodies.live);
  });
  const server = app.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

async function startBaseline(secret: string, bodies: object): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--baseline-server'], {
    cwd: ROOT,
    env: { ...process.env, BASELINE_SECRET: secret, BASELINE_BODIES: JSON.stringify(bodies) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const { port } = JSON.parse(String(line)) as { port: number };
  return { url: `http://127.0.0.1:${port}`, child };
}

export async function main(): Promise<void> {
  const db = await createBenchDatabase('bench_http');
  const dataDir = await mkdtemp(join(tmpdir(), 'chitti-bench-http-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const secret = randomSecret();
  const extraNodeArgs = (process.env.BENCH_HTTP_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const chitti = spawn(process.execPath, [...extraNodeArgs, join(ROOT, 'cli/chitti.mjs'), 'start'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      CHITTI_DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_PORT: String(await freePort()),
      JWT_KEYS: `bench:${secret}`,
      RATE_LIMIT_PER_MINUTE: '1000000',
      RATE_LIMIT_ANONYMOUS_PER_MINUTE: '1000000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Chitti's logs go to a file, as they would to a collector: the load generator never parses them.
  const logFile = createWriteStream(join(dataDir, 'chitti.log'));
  chitti.stdout!.pipe(logFile);
  chitti.stderr!.pipe(logFile);
  let baseline: ChildProcess | undefined;
  try {
    await until('chitti to start', async () => ((await fetch(`${base}/health/ready`)).ok ? true : undefined));
    const apiKey = (await readFile(join(dataDir, 'admin-api-key'), 'utf8')).trim();
    const { accessToken } = (await (
      await fetch(`${base}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ apiKey }),
      })
    ).json()) as { accessToken: string };
    const auth = { authorization: `Bearer ${accessToken}` };

    // One real inspection, run by the bundled model, gives the read paths something to return.
    const upload = await fetch(`${base}/v1/files`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'image/png' },
      body: await readFile(SAMPLE),
    });
    const { fileId } = (await upload.json()) as { fileId: string };
    const fileIds = [fileId];
    for (let i = 1; i < 8; i++) {
      const more = await fetch(`${base}/v1/files`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'image/png', 'x-file-name': `bench-${i}.png` },
        body: await readFile(SAMPLE),
      });
      fileIds.push(((await more.json()) as { fileId: string }).fileId);
    }
    const requested = await fetch(`${base}/v1/inspections`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ fileId }),
    });
    const { inspectionId } = (await requested.json()) as { inspectionId: string };
    const inspection = await until('the inspection to be detected', async () => {
      const body = (await (await fetch(`${base}/v1/inspections/${inspectionId}`, { headers: auth })).json()) as {
        status?: string;
        detections?: { className: string }[];
      };
      return body.status === 'detected' ? body : undefined;
    });
    const className = inspection.detections?.[0]?.className ?? 'porosity';
    const searchPath = `/v1/detections?className=${encodeURIComponent(className)}&minScore=0.1`;
    await until('the detections to be searchable', async () => {
      const page = (await (await fetch(`${base}${searchPath}`, { headers: auth })).json()) as { items?: unknown[] };
      return (page.items?.length ?? 0) > 0 || !inspection.detections?.length ? true : undefined;
    });
    const bodies = {
      inspection,
      detections: await (await fetch(`${base}${searchPath}`, { headers: auth })).json(),
      live: await (await fetch(`${base}/health/live`)).json(),
    };
    const started = await startBaseline(secret, bodies);
    baseline = started.child;

    const paths = [
      { part: 'get', name: 'GET /v1/inspections/{id}', path: `/v1/inspections/${inspectionId}`, headers: auth },
      { part: 'search', name: `GET ${searchPath}`, path: searchPath, headers: auth },
      { part: 'live', name: 'GET /health/live', path: '/health/live', headers: {} },
    ].filter((p) => ONLY.has(p.part));
    console.log(`${CONNECTIONS} connections, ${SECONDS} s each, loopback; ${inspection.detections?.length} detections`);
    for (const { name, path, headers } of paths) {
      await load(`${base}${path}`, headers, chitti); // warm-up, not counted
      const ours = await load(`${base}${path}`, headers, chitti);
      const bare = await load(`${started.url}${path}`, headers, started.child);
      console.log(`\n${name}`);
      console.log(`  chitti   ${show(ours)}`);
      console.log(`  baseline ${show(bare)}`);
      console.log(
        `  ratio chitti/baseline req/s: ${(ours.rps / bare.rps).toFixed(2)}; server CPU per request: ${(ours.cpuMsPerRequest / bare.cpuMsPerRequest).toFixed(1)}x`,
      );
    }

    if (ONLY.has('tags')) {
      await commands(base, accessToken, fileIds, 40); // warm-up
      const one = await commands(base, accessToken, [fileId], COMMANDS);
      const eight = await commands(base, accessToken, fileIds, COMMANDS * 2);
      console.log(`\nPOST /v1/files/{id}/tags (one FileTagged per request)`);
      console.log(
        `  1 client : ${one.perSecond.toFixed(0)} commands/s  p50 ${one.p50.toFixed(1)} ms  p99 ${one.p99.toFixed(1)} ms`,
      );
      console.log(
        `  8 clients: ${eight.perSecond.toFixed(0)} commands/s  p50 ${eight.p50.toFixed(1)} ms  p99 ${eight.p99.toFixed(1)} ms`,
      );
      console.log(`  throughput 8 clients / 1 client: ${(eight.perSecond / one.perSecond).toFixed(2)}`);
    }

    if (ONLY.has('upload')) {
      const images = await distinctRadiographs(UPLOADS * 2 + 4);
      await uploadsVisible(base, accessToken, images.slice(0, 4), 1); // warm-up
      const one = await uploadsVisible(base, accessToken, images.slice(4, 4 + UPLOADS), 1);
      const eight = await uploadsVisible(base, accessToken, images.slice(4 + UPLOADS), 8);
      console.log(`\nupload → detections visible (POST /v1/files, POST /v1/inspections, GET until detected)`);
      console.log(
        `  1 client : ${one.perSecond.toFixed(1)} images/s  p50 ${one.p50.toFixed(0)} ms  p99 ${one.p99.toFixed(0)} ms  (medians: ${one.phases})`,
      );
      console.log(
        `  8 clients: ${eight.perSecond.toFixed(1)} images/s  p50 ${eight.p50.toFixed(0)} ms  p99 ${eight.p99.toFixed(0)} ms  (medians: ${eight.phases})`,
      );
    }
  } finally {
    if (baseline) await stop(baseline);
    await stop(chitti);
    logFile.end();
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--baseline-server')) baselineServer();
else runIfMain(import.meta.url, main);
