/**
 * Inference pipeline benchmark, all in one run on the same machine and session options:
 *   - bare onnxruntime: `session.run` on pre-made input tensors at batch 1, 2, 4, 8 (the ceiling);
 *   - the pipeline: image bytes → sharp decode → letterbox → micro-batched worker session →
 *     decode + NMS, for a sweep of maxBatch × maxWaitMs, with enough requests in flight to fill
 *     batches; throughput in images/s and its ratio to the best bare throughput;
 *   - latency per image at batch 1 (one request at a time): p50 / p95;
 *   - tiled inference of one 16-bit BENCH_TILED_SIDE² image (default 10,000²) with the shipped
 *     model's tiling (inference/models/weld-defects.deployment.json): tiles/s from PNG bytes to
 *     merged boxes against bare `session.run` at batch 8 on the same tiles, and the process's
 *     peak RSS over its baseline while it runs.
 *
 *   node --import tsx bench/inference.ts          (BENCH_TILED_ONLY=1: the tiled part alone)
 *
 * Model: the newest shipped inference/models/weld-defects-<version>.onnx (what a fresh install deploys), else the untrained
 * one with the same architecture. BENCH_PHASE_MS bounds each timed phase (default 2500),
 * BENCH_THREADS sets intraOpNumThreads for both sides (default 1).
 */

import { readdir, readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { findBundledModel } from '../cli/bootstrap.js';
import { Detector, type ServedModel } from '../inference/detector.js';
import { ImagePool } from '../inference/image-pool.js';
import { inspectModel } from '../inference/model-store.js';
import { prepareImage } from '../inference/preprocess.js';
import { SessionPool } from '../inference/session-pool.js';
import { planInput, tileAt } from '../inference/tiling.js';
import { runIfMain } from './support.js';

const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 2_500);
const THREADS = Number(process.env.BENCH_THREADS ?? 1);
const BATCHES = [1, 2, 4, 8];
const WAITS_MS = [0, 2, 10];
const IMAGES = 16;
const thresholds = { confidence: 0.25, iou: 0.7, maxDetections: 300 };

export interface InferenceBenchResult {
  readonly model: string;
  readonly inputSize: { width: number; height: number };
  readonly bare: Record<number, Rate>;
  readonly pipeline: {
    maxBatch: number;
    maxWaitMs: number;
    imagesPerSec: number;
    cpuMsPerImage: number;
    meanBatch: number;
  }[];
  readonly bestRatio: number;
  readonly latencyMs: { p50: number; p95: number };
}

/** The version `npm start` deploys on a fresh install (the newest trained one), else the untrained layout file. */
async function shippedModel(): Promise<string> {
  const newest = await findBundledModel('weld-defects');
  if (newest) return newest.file;
  const dir = fileURLToPath(new URL('../inference/models/', import.meta.url));
  const pick = (await readdir(dir)).filter((f) => f.endsWith('.onnx')).sort()[0];
  if (!pick) throw new Error(`no .onnx model in ${dir}`);
  return join(dir, pick);
}

/** Radiograph-like 8-bit greyscale PNGs, 1024×640: a bright bead band over noise, a few dark spots. */
async function images(count: number): Promise<Buffer[]> {
  const width = 1024;
  const height = 640;
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const out: Buffer[] = [];
  for (let n = 0; n < count; n++) {
    const pixels = Buffer.alloc(width * height);
    for (let y = 0; y < height; y++) {
      const bead = Math.abs(y - height / 2) < 90 ? 70 : 0;
      for (let x = 0; x < width; x++) pixels[y * width + x] = 60 + bead + Math.floor(random() * 40);
    }
    for (let s = 0; s < 5; s++) {
      const cx = Math.floor(random() * width);
      const cy = Math.floor(height / 2 + (random() - 0.5) * 150);
      for (let y = Math.max(0, cy - 6); y < Math.min(height, cy + 6); y++)
        for (let x = Math.max(0, cx - 6); x < Math.min(width, cx + 6); x++) pixels[y * width + x] = 30;
    }
    out.push(
      await sharp(pixels, { raw: { width, height, channels: 1 } })
        .toColourspace('b-w')
        .png()
        .toBuffer(),
    );
  }
  return out;
}

interface Rate {
  readonly imagesPerSec: number;
  /** Process CPU (all threads: main, workers, libuv) per image: the work, whatever the contention. */
  readonly cpuMsPerImage: number;
}

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

async function phase(work: () => Promise<number>): Promise<Rate> {
  const deadline = performance.now() + PHASE_MS;
  const started = performance.now();
  const cpuStart = cpuMs();
  let done = 0;
  while (performance.now() < deadline) done += await work();
  return { imagesPerSec: done / ((performance.now() - started) / 1000), cpuMsPerImage: (cpuMs() - cpuStart) / done };
}

async function bareThroughput(
  modelBytes: Uint8Array,
  tensors: Float32Array[],
  model: ServedModel,
  batches: readonly number[] = BATCHES,
) {
  const session = await ort.InferenceSession.create(modelBytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const { width, height } = model.inputSize;
  const size = 3 * width * height;
  const result: Record<number, Rate> = {};
  for (const batch of batches) {
    const input = new Float32Array(batch * size);
    for (let i = 0; i < batch; i++) input.set(tensors[i % tensors.length]!, i * size);
    const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', input, [batch, 3, height, width]) };
    await session.run(feeds); // warm-up at this shape
    result[batch] = await phase(async () => {
      await session.run(feeds);
      return batch;
    });
  }
  await session.release();
  return result;
}

async function pipelineThroughput(
  pool: SessionPool,
  images: ImagePool,
  modelBytes: Uint8Array,
  model: ServedModel,
  bytes: Buffer[],
  maxBatch: number,
  maxWaitMs: number,
) {
  const detector = new Detector(pool, images, async () => modelBytes, { maxBatch, maxWaitMs });
  await detector.load(model);
  let batchSum = 0;
  let requests = 0;
  const one = async (i: number) => {
    const opened = await detector.open(bytes[i % bytes.length]!);
    const result = await detector.detect(opened, model, thresholds).finally(() => opened.image.release());
    batchSum += result.batchSize;
    requests++;
  };
  // Closed loop: twice the batch of clients, each sending its next image as soon as one returns,
  // keeps the next batch filling while one computes.
  const clients = Math.max(2, 2 * maxBatch);
  const deadline = performance.now() + PHASE_MS;
  const started = performance.now();
  const cpuStart = cpuMs();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = c; performance.now() < deadline; i += clients) await one(i);
    }),
  );
  const imagesPerSec = requests / ((performance.now() - started) / 1000);
  const cpuMsPerImage = (cpuMs() - cpuStart) / requests;
  await detector.close();
  return { imagesPerSec, cpuMsPerImage, meanBatch: batchSum / requests };
}

async function latency(
  pool: SessionPool,
  images: ImagePool,
  modelBytes: Uint8Array,
  model: ServedModel,
  bytes: Buffer[],
) {
  const detector = new Detector(pool, images, async () => modelBytes, { maxBatch: 1, maxWaitMs: 0 });
  await detector.load(model);
  const samples: number[] = [];
  const deadline = performance.now() + PHASE_MS;
  for (let i = 0; performance.now() < deadline || samples.length < 20; i++) {
    const started = performance.now();
    const opened = await detector.open(bytes[i % bytes.length]!);
    await detector.detect(opened, model, thresholds);
    opened.image.release();
    samples.push(performance.now() - started);
  }
  await detector.close();
  samples.sort((a, b) => a - b);
  const at = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!;
  return { p50: at(0.5), p95: at(0.95) };
}

const TILED_SIDE = Number(process.env.BENCH_TILED_SIDE ?? 10_000);
const MiB = 1024 * 1024;

/** A smooth 16-bit radiograph of side² pixels (bead band, gain drift, pores every few hundred px). */
async function largeRadiograph(side: number): Promise<Buffer> {
  const samples = new Uint16Array(side * side);
  for (let y = 0; y < side; y++) {
    const bead = Math.abs(y - side / 2) < side / 8 ? 12_000 : 0;
    samples.fill(20_000 + bead + Math.round(4000 * Math.sin(y / 700)), y * side, (y + 1) * side);
  }
  for (let cx = 150; cx < side; cx += 400) {
    const cy = side / 2 + ((cx * 7) % 300) - 150;
    for (let y = cy - 5; y < cy + 5; y++) samples.fill(8000, y * side + cx - 5, y * side + cx + 5);
  }
  return sharp(samples, { raw: { width: side, height: side, channels: 1 } })
    .toColourspace('grey16')
    .png({ compressionLevel: 9 })
    .toBuffer();
}

export interface TiledBenchResult {
  readonly side: number;
  readonly tiles: number;
  readonly tilesPerSec: number;
  readonly bareTilesPerSec: number;
  readonly baselineRssMiB: number;
  readonly peakRssMiB: number;
}

/** One large image through the whole pipeline (decode in a worker, tiles batched, merge), then bare session.run on its tiles. */
async function tiledInference(
  pool: SessionPool,
  images: ImagePool,
  modelBytes: Uint8Array,
  model: ServedModel,
): Promise<TiledBenchResult> {
  const png = await largeRadiograph(TILED_SIDE);
  const detector = new Detector(pool, images, async () => modelBytes, { maxBatch: 8, maxWaitMs: 5 });
  await detector.load(model);
  // Warm-up outside the measurement: both image workers started, the session run at batch 8.
  const warm = await largeRadiograph(1200);
  await Promise.all(
    [0, 1].map(async () => {
      const opened = await detector.open(warm);
      await detector.detect(opened, model, thresholds);
      opened.image.release();
    }),
  );
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  const started = performance.now();
  const opened = await detector.open(png);
  const result = await detector.detect(opened, model, thresholds);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const plan = planInput(opened.image, model.inputSize, model.tiling, null);
  if (plan.kind !== 'tiles' || !result.tiling) throw new Error('the large image was not tiled');
  // The same tiles for the bare run (the first 64 of them, cut by the same code).
  const sample = Array.from({ length: Math.min(64, result.tiling.tiles) }, (_, i) => tileAt(plan.plan, i));
  const tensors = [...(await images.tiles(opened.image, plan.plan, sample))];
  opened.image.release();
  await detector.close();
  const bare = await bareThroughput(modelBytes, tensors, model, [8]);
  const r: TiledBenchResult = {
    side: TILED_SIDE,
    tiles: result.tiling.tiles,
    tilesPerSec: result.tiling.tiles / seconds,
    bareTilesPerSec: bare[8]!.imagesPerSec,
    baselineRssMiB: baseline / MiB,
    peakRssMiB: peak / MiB,
  };
  console.log(
    `tiled ${TILED_SIDE}×${TILED_SIDE} 16-bit PNG (${(png.length / MiB).toFixed(1)} MiB): ${r.tiles} tiles ` +
      `(${result.tiling.grid.columns}×${result.tiling.grid.rows}, ${result.tiling.tileSize.width} px, overlap ${result.tiling.overlapPx}) ` +
      `in ${seconds.toFixed(1)} s: ${r.tilesPerSec.toFixed(1)} tiles/s bytes to merged boxes vs bare session.run batch 8 ` +
      `${r.bareTilesPerSec.toFixed(1)} tiles/s (ratio ${(r.tilesPerSec / r.bareTilesPerSec).toFixed(2)}); ` +
      `${result.detections.length} detections`,
  );
  console.log(
    `tiled RSS: baseline ${r.baselineRssMiB.toFixed(0)} MiB, peak ${r.peakRssMiB.toFixed(0)} MiB ` +
      `(+${(r.peakRssMiB - r.baselineRssMiB).toFixed(0)} MiB; the decoded 16-bit image is ${((2 * TILED_SIDE * TILED_SIDE) / MiB).toFixed(0)} MiB, ` +
      `its 8-bit window ${((TILED_SIDE * TILED_SIDE) / MiB).toFixed(0)} MiB)`,
  );
  return r;
}

/** The shipped model with the tiling `npm start` registers it with. */
async function shippedTiledModel(modelBytes: Uint8Array): Promise<ServedModel> {
  const bundled = await findBundledModel('weld-defects');
  if (!bundled?.tiling) throw new Error('weld-defects.deployment.json names no tiling');
  return { ...(await inspectModel(modelBytes)), tiling: bundled.tiling };
}

/** The tiled part alone (BENCH_TILED_ONLY=1). */
export async function tiledMain(): Promise<TiledBenchResult> {
  const modelBytes = await readFile(await shippedModel());
  const pool = new SessionPool({ intraOpNumThreads: THREADS });
  const imagePool = new ImagePool();
  try {
    console.log(
      `intraOpNumThreads ${THREADS}; ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)} at start`,
    );
    return await tiledInference(pool, imagePool, modelBytes, await shippedTiledModel(modelBytes));
  } finally {
    await pool.close();
    await imagePool.close();
  }
}

export async function main(): Promise<InferenceBenchResult & { tiled: TiledBenchResult }> {
  const path = await shippedModel();
  const modelBytes = await readFile(path);
  const inspection = await inspectModel(modelBytes);
  // Whole-image letterbox here (the 1024×640 images would otherwise be tiled); tiles are measured below.
  const model: ServedModel = { ...inspection, tiling: null };
  const bytes = await images(IMAGES);
  const tensors = await Promise.all(bytes.map(async (b) => (await prepareImage(b, model.inputSize)).tensor));
  const name = path.split('/').at(-1)!;
  console.log(`model ${name}: ${model.inputSize.width}×${model.inputSize.height}, ${model.classes.length} classes`);
  console.log(
    `intraOpNumThreads ${THREADS}, ${PHASE_MS} ms per phase, images 1024×640 8-bit PNG; ` +
      `${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)} at start`,
  );

  const bare = await bareThroughput(modelBytes, tensors, model);
  for (const b of BATCHES) {
    console.log(
      `bare session.run  batch ${b}: ${bare[b]!.imagesPerSec.toFixed(1)} images/s, ${bare[b]!.cpuMsPerImage.toFixed(1)} CPU ms/image`,
    );
  }
  const bestBare = Math.max(...Object.values(bare).map((r) => r.imagesPerSec));

  const pool = new SessionPool({ intraOpNumThreads: THREADS });
  const imagePool = new ImagePool();
  try {
    const pipeline: InferenceBenchResult['pipeline'] = [];
    for (const maxBatch of BATCHES) {
      for (const maxWaitMs of maxBatch === 1 ? [0] : WAITS_MS) {
        const r = await pipelineThroughput(pool, imagePool, modelBytes, model, bytes, maxBatch, maxWaitMs);
        pipeline.push({ maxBatch, maxWaitMs, ...r });
        console.log(
          `pipeline maxBatch ${maxBatch} maxWait ${String(maxWaitMs).padStart(2)} ms: ${r.imagesPerSec.toFixed(1)} images/s, ` +
            `${r.cpuMsPerImage.toFixed(1)} CPU ms/image (mean batch ${r.meanBatch.toFixed(2)}, ` +
            `${(r.imagesPerSec / bare[maxBatch]!.imagesPerSec).toFixed(2)} of bare at batch ${maxBatch})`,
        );
      }
    }
    const best = pipeline.reduce((a, b) => (b.imagesPerSec > a.imagesPerSec ? b : a));
    const bestRatio = best.imagesPerSec / bestBare;
    console.log(
      `best pipeline ${best.imagesPerSec.toFixed(1)} images/s (maxBatch ${best.maxBatch}, maxWait ${best.maxWaitMs} ms) ` +
        `vs best bare ${bestBare.toFixed(1)} images/s: ratio ${bestRatio.toFixed(2)} (goal >= 0.85)`,
    );
    console.log(`load average ${loadavg()[0]!.toFixed(2)} at the end (other processes share these cores)`);
    const lat = await latency(pool, imagePool, modelBytes, model, bytes);
    console.log(
      `latency per image at batch 1 (bytes to boxes): p50 ${lat.p50.toFixed(1)} ms, p95 ${lat.p95.toFixed(1)} ms`,
    );
    const tiled = await tiledInference(pool, imagePool, modelBytes, await shippedTiledModel(modelBytes));
    return { model: name, inputSize: model.inputSize, bare, pipeline, bestRatio, latencyMs: lat, tiled };
  } finally {
    await pool.close();
    await imagePool.close();
  }
}

runIfMain(import.meta.url, process.env.BENCH_TILED_ONLY === '1' ? tiledMain : main);
