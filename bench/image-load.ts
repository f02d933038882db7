/**
 * Heavy images against a live API (issue 10, "bounded image work"): four 16-bit 8192×8192 PNG
 * radiographs uploaded and inspected at once through the real HTTP API, with the inference
 * processor in the same process as in embedded mode (`npm start`), while a client polls
 * `GET /health/live` every 10 ms from another process. Reports the liveness latency (p50/p99/max),
 * the server's event-loop delay and utilisation, and the process's peak RSS against the bound the
 * image pool enforces (baseline + memory budget + tiles in flight).
 *
 *   node --import tsx bench/image-load.ts
 *
 * BENCH_IMAGE_SIDE (default 8192), BENCH_IMAGES (default 4), IMAGE_WORKERS (default 2) and
 * IMAGE_MEMORY_BUDGET_MB (default 512) as in the configuration. Needs PostgreSQL on 127.0.0.1.
 * The model is the shipped one, registered and deployed as `npm start` does (its tiling included).
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay, performance as perf } from 'node:perf_hooks';
import sharp from 'sharp';
import { deployBundledModel } from '../cli/bootstrap.js';
import { EmbeddedInspectionSource } from '../inference/embedded-source.js';
import { InferenceService } from '../inference/service.js';
import { FsBlobStore } from '../infra/blob/fs-blob-store.js';
import { bearer, json, KEY_A, seedUser, startFullApi, tokensFor } from '../test/api/support/harness.js';
import { runIfMain } from './support.js';

const SIDE = Number(process.env.BENCH_IMAGE_SIDE ?? 8192);
const IMAGES = Number(process.env.BENCH_IMAGES ?? 4);
const WORKERS = Number(process.env.IMAGE_WORKERS ?? 2);
const BUDGET_MB = Number(process.env.IMAGE_MEMORY_BUDGET_MB ?? 512);
const MiB = 1024 * 1024;

/** A smooth 16-bit radiograph (bead band, slow gain drift, a few pores): compresses to well under 1 MB per 64 MP. */
async function radiograph(side: number, seed: number): Promise<Buffer> {
  const samples = new Uint16Array(side * side);
  for (let y = 0; y < side; y++) {
    const bead = Math.abs(y - side / 2) < side / 10 ? 12_000 : 0;
    const row = 20_000 + bead + Math.round(4000 * Math.sin((y + seed * 97) / 700));
    samples.fill(row, y * side, (y + 1) * side);
  }
  for (let p = 0; p < 12; p++) {
    const cx = (p * 7919 + seed * 104_729) % side;
    const cy = side / 2 + ((p * 31 + seed) % 200) - 100;
    for (let y = cy - 6; y < cy + 6; y++)
      samples.fill(9000, y * side + Math.max(0, cx - 6), y * side + Math.min(side, cx + 6));
  }
  return sharp(samples, { raw: { width: side, height: side, channels: 1 } })
    .toColourspace('grey16')
    .png({ compressionLevel: 9 })
    .toBuffer();
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

/**
 * A client in its own process (so its own work does not load the server's event loop): GET the
 * URL every 10 ms, one at a time, until stdin closes; then print the latencies as JSON.
 */
const POLLER = `
const url = process.argv[1];
const times = [];
let running = true;
process.stdin.on('end', () => { running = false; });
process.stdin.resume();
(async () => {
  while (running) {
    const started = performance.now();
    const response = await fetch(url);
    await response.arrayBuffer();
    times.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  process.stdout.write(JSON.stringify(times));
})();
`;

function startPoller(url: string): { stop(): Promise<number[]> } {
  const child = spawn(process.execPath, ['-e', POLLER, url], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    async stop() {
      child.stdin.end();
      await exited;
      return JSON.parse(out) as number[];
    },
  };
}

export async function main() {
  const pngs: Buffer[] = [];
  for (let i = 0; i < IMAGES; i++) pngs.push(await radiograph(SIDE, i));
  console.log(
    `${IMAGES} × ${SIDE}×${SIDE} 16-bit PNG, ${(pngs[0]!.length / 1024).toFixed(0)} KiB each; ` +
      `IMAGE_WORKERS ${WORKERS}, IMAGE_MEMORY_BUDGET_MB ${BUDGET_MB}; ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}`,
  );
  const api = await startFullApi({
    jwtKeys: [KEY_A],
    maxUploadBytes: 256 * MiB,
    rateLimit: { authenticated: 100_000, anonymous: 100_000, windowMs: 60_000 },
  });
  const { backend, server } = api;
  const service = new InferenceService(
    { store: backend.store, blobs: new FsBlobStore(backend.blobDir) },
    { images: { workers: WORKERS, memoryBudgetBytes: BUDGET_MB * MiB }, detector: { maxBatch: 4, maxWaitMs: 5 } },
  );
  const silent = { info() {}, warn() {}, error() {} };
  try {
    await deployBundledModel({ store: backend.store, logger: silent as never }, service.models, 'weld-defects');
    await service.start(new EmbeddedInspectionSource(backend.store, { onError: () => {} }));
    const operator = await seedUser(backend, ['operator']);
    const token = (await tokensFor(server.url, operator.apiKey)).accessToken;

    globalThis.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 20);

    // How long this process's event loop was blocked, apart from the HTTP round trip (which also
    // waits for a CPU when the cores are busy with decoding and inference).
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const eluStart = perf.eventLoopUtilization();
    const poller = startPoller(`${server.url}/health/live`);

    const started = performance.now();
    const inspectionIds = await Promise.all(
      pngs.map(async (png, i) => {
        const uploaded = await fetch(`${server.url}/v1/files?name=weld-${i}.png`, {
          method: 'POST',
          headers: { ...bearer(token), 'content-type': 'image/png' },
          body: png,
        });
        if (uploaded.status !== 201) throw new Error(`upload: ${uploaded.status} ${await uploaded.text()}`);
        const { fileId } = await json(uploaded);
        const requested = await fetch(`${server.url}/v1/inspections`, {
          method: 'POST',
          headers: { ...bearer(token), 'content-type': 'application/json' },
          body: JSON.stringify({ fileId }),
        });
        if (requested.status !== 202) throw new Error(`inspect: ${requested.status} ${await requested.text()}`);
        return (await json(requested)).inspectionId as string;
      }),
    );
    const uploadedMs = performance.now() - started;
    const results = await Promise.all(
      inspectionIds.map(async (id) => {
        for (;;) {
          const events = await backend.store.readStream(`inspection-${id}`);
          const done = events.find((e) => e.type === 'DetectionsRecorded' || e.type === 'InspectionFailed');
          if (done) return done;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }),
    );
    const totalMs = performance.now() - started;
    const live = await poller.stop();
    clearInterval(sampler);
    loopDelay.disable();
    const elu = perf.eventLoopUtilization(eluStart);

    const sorted = [...live].sort((a, b) => a - b);
    const outcome = results.map((e) => {
      const d = e.data as { tiling?: { tiles: number } | null; code?: string };
      return e.type === 'DetectionsRecorded' ? `${d.tiling?.tiles ?? 1} tiles` : `failed ${d.code}`;
    });
    const stats = service.images.stats();
    console.log(
      `uploads + requests ${(uploadedMs / 1000).toFixed(1)} s; all inspected in ${(totalMs / 1000).toFixed(1)} s (${outcome.join(', ')})`,
    );
    console.log(
      `/health/live over ${live.length} requests: p50 ${percentile(sorted, 0.5).toFixed(1)} ms, ` +
        `p99 ${percentile(sorted, 0.99).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms (goal p99 < 50 ms); ` +
        `event-loop delay p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} ms, max ${(loopDelay.max / 1e6).toFixed(1)} ms; ` +
        `server event loop busy ${(100 * elu.utilization).toFixed(0)} % of the run; ` +
        `load ${loadavg()[0]!.toFixed(2)} at the end`,
    );
    console.log(
      `RSS: baseline ${(baseline / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB ` +
        `(+${((peak - baseline) / MiB).toFixed(0)} MiB; budget ${BUDGET_MB} MiB of decoded pixels, ` +
        `peak reserved ${(stats.memory.peakBytesInFlight / MiB).toFixed(0)} MiB; image jobs at once ≤ ${stats.peakJobsRunning})`,
    );
    return { live: { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) }, baseline, peak };
  } finally {
    await service.stop();
    await api.close();
  }
}

runIfMain(import.meta.url, main);
