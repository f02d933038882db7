import type { Worker } from 'node:worker_threads';
import { DEFAULT_MAX_PIXELS } from '../schemas/limits.js';
import type { ImageJob, ImageJobRequest, ImageReply, RasterData, Size } from './image-protocol.js';
import { type LetterboxGeometry, letterboxGeometry } from './letterbox.js';
import { MemoryBudget, type MemoryBudgetStats } from './memory-budget.js';
import { type ImageHeader, ImageRejectedError } from './preprocess.js';
import { startWorker, workerModuleUrl } from './start-worker.js';
import type { TilePlan, TilePosition } from './tiling.js';

export interface ImagePoolOptions {
  /** Worker threads, i.e. image jobs (decode, verify, letterbox, tiles) running at once. Default 2. */
  readonly workers?: number;
  /** Bytes of decoded pixels in flight (decode buffers and open images); beyond it, decodes wait. Default 512 MiB. */
  readonly memoryBudgetBytes?: number;
  /** The shared pixel limit (MAX_IMAGE_PIXELS). */
  readonly maxPixels?: number;
  readonly windowPercentiles?: readonly [number, number];
}

export class ImageWorkerError extends Error {
  readonly code = 'image-worker-error';
}

/** A decoded image held for letterboxing or tiling; its pixels count against the budget until released. */
export interface OpenImage extends RasterData {
  release(): void;
}

export interface ImagePoolStats {
  readonly jobsRunning: number;
  readonly peakJobsRunning: number;
  readonly decodesRunning: number;
  readonly peakDecodesRunning: number;
  readonly queued: number;
  readonly memory: MemoryBudgetStats;
}

const workerUrl = workerModuleUrl(import.meta.url, 'image-worker');
export const DEFAULT_IMAGE_MEMORY_BUDGET = 512 * 1024 * 1024;

interface Pending {
  readonly job: ImageJob;
  readonly resolve: (reply: ImageReply) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Image work off the calling thread, bounded twice: at most `workers` jobs run at once (the rest
 * queue, first come first served), and a decode starts only when the bytes it will hold fit the
 * memory budget (estimated from the header before decoding). Open images keep their 8-bit pixels
 * reserved until released. Workers start on first use and do not keep the process alive when idle.
 */
export class ImagePool {
  readonly maxPixels: number;
  private readonly size: number;
  private readonly budget: MemoryBudget;
  private readonly idle: Worker[] = [];
  private readonly all = new Set<Worker>();
  private readonly queue: Pending[] = [];
  private readonly waiting = new Map<Worker, Pending>();
  private running = 0;
  private peakRunning = 0;
  private decodes = 0;
  private peakDecodes = 0;
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: ImagePoolOptions = {}) {
    this.size = options.workers ?? 2;
    if (!Number.isInteger(this.size) || this.size < 1) throw new RangeError('workers must be >= 1');
    this.maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
    this.budget = new MemoryBudget(options.memoryBudgetBytes ?? DEFAULT_IMAGE_MEMORY_BUDGET);
  }

  stats(): ImagePoolStats {
    return {
      jobsRunning: this.running,
      peakJobsRunning: this.peakRunning,
      decodesRunning: this.decodes,
      peakDecodesRunning: this.peakDecodes,
      queued: this.queue.length,
      memory: this.budget.stats(),
    };
  }

  /**
   * Starts one worker ahead of the first job, so loading it (sharp, and the TypeScript loader when
   * run from sources) overlaps the rest of start-up instead of delaying the first request.
   */
  warmUp(): void {
    if (!this.closed && this.all.size === 0) this.idle.push(this.spawnIdle());
  }

  /** The header under the pixel limit; ImageRejectedError otherwise. */
  async probe(bytes: Uint8Array, maxPixels = this.maxPixels): Promise<ImageHeader> {
    return this.header(await this.submit({ kind: 'probe', bytes, maxPixels }));
  }

  /**
   * The header after decoding the whole file (streaming, through a thumbnail: little memory
   * whatever the size): truncated or corrupt files throw ImageRejectedError.
   */
  async verify(bytes: Uint8Array, maxPixels = this.maxPixels): Promise<ImageHeader> {
    return this.header(await this.submit({ kind: 'verify', bytes, maxPixels }));
  }

  /** Decodes and windows the image once, within the memory budget; release() the result when done. */
  async open(bytes: Uint8Array): Promise<OpenImage> {
    const header = await this.probe(bytes);
    const pixels = header.width * header.height * header.channels;
    // The decoder's output (16-bit for wide samples) and the 8-bit image both exist until windowing ends.
    const lease = await this.budget.acquire(pixels * (header.bitDepth === 16 ? 3 : 2));
    this.decodes++;
    this.peakDecodes = Math.max(this.peakDecodes, this.decodes);
    try {
      const reply = await this.submit({
        kind: 'decode',
        bytes,
        maxPixels: this.maxPixels,
        ...(this.options.windowPercentiles ? { windowPercentiles: this.options.windowPercentiles } : {}),
      });
      if (reply.kind !== 'decoded') throw new ImageWorkerError(`unexpected reply ${reply.kind} to decode`);
      lease.resize(reply.image.pixels.byteLength);
      return { ...reply.image, release: () => lease.release() };
    } catch (error) {
      lease.release();
      throw error;
    } finally {
      this.decodes--;
    }
  }

  /** The whole image letterboxed to the model input (Ultralytics arithmetic). */
  async letterbox(image: RasterData, target: Size): Promise<{ tensor: Float32Array; geometry: LetterboxGeometry }> {
    const [tensor] = await this.tensors({ kind: 'letterbox', image: raster(image), target });
    return { tensor: tensor!, geometry: letterboxGeometry(image.width, image.height, target.width, target.height) };
  }

  /** The model inputs of the given tiles, in order. */
  tiles(image: RasterData, plan: TilePlan, tiles: readonly TilePosition[]): Promise<readonly Float32Array[]> {
    return this.tensors({
      kind: 'tiles',
      image: raster(image),
      scaled: plan.scaled,
      tileSize: plan.tileSize,
      origins: tiles.map(({ x, y }) => ({ x, y })),
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) pending.reject(new ImageWorkerError('the image pool is closed'));
    await Promise.all([...this.all].map((w) => w.terminate()));
    this.all.clear();
    this.idle.length = 0;
  }

  private async tensors(job: ImageJob): Promise<readonly Float32Array[]> {
    const reply = await this.submit(job);
    if (reply.kind !== 'tensors') throw new ImageWorkerError(`unexpected reply ${reply.kind} to ${job.kind}`);
    return reply.tensors;
  }

  private header(reply: ImageReply): ImageHeader {
    if (reply.kind !== 'header') throw new ImageWorkerError(`unexpected reply ${reply.kind}`);
    return reply.header;
  }

  /** Queues a job; its input is copied to the worker (pixels on a SharedArrayBuffer are shared, not copied). */
  private submit(job: ImageJob): Promise<ImageReply> {
    if (this.closed) return Promise.reject(new ImageWorkerError('the image pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const worker = this.idle.pop() ?? (this.all.size < this.size ? this.spawn() : undefined);
      if (!worker) return;
      const pending = this.queue.shift()!;
      this.running++;
      this.peakRunning = Math.max(this.peakRunning, this.running);
      this.waiting.set(worker, pending);
      worker.ref();
      worker.postMessage({ ...pending.job, id: this.nextId++ } satisfies ImageJobRequest);
    }
  }

  private spawnIdle(): Worker {
    const worker = this.spawn();
    worker.unref();
    return worker;
  }

  private spawn(): Worker {
    const worker = startWorker(workerUrl, null);
    this.all.add(worker);
    worker.on('message', (reply: ImageReply) => this.settle(worker, reply));
    worker.on('error', (error) => this.lose(worker, error));
    worker.on('exit', (code) => this.lose(worker, new ImageWorkerError(`image worker exited with code ${code}`)));
    return worker;
  }

  private settle(worker: Worker, reply: ImageReply): void {
    const pending = this.waiting.get(worker);
    this.waiting.delete(worker);
    this.running--;
    worker.unref();
    this.idle.push(worker);
    if (pending) {
      if (reply.kind !== 'error') pending.resolve(reply);
      else if (reply.rejection) pending.reject(new ImageRejectedError(reply.rejection, reply.message));
      else pending.reject(new ImageWorkerError(reply.message));
    }
    this.dispatch();
  }

  /** A worker that died (crash, out of memory) fails its job and is replaced on demand. */
  private lose(worker: Worker, error: Error): void {
    if (!this.all.delete(worker)) return;
    const index = this.idle.indexOf(worker);
    if (index >= 0) this.idle.splice(index, 1);
    const pending = this.waiting.get(worker);
    if (pending) {
      this.waiting.delete(worker);
      this.running--;
      pending.reject(error instanceof ImageWorkerError ? error : new ImageWorkerError(error.message));
    }
    if (!this.closed) this.dispatch();
  }
}

/** Only the fields a worker needs (OpenImage's release() cannot cross threads). */
function raster(image: RasterData): RasterData {
  const { mediaType, width, height, channels, bitDepth, window, pixels } = image;
  return { mediaType, width, height, channels, bitDepth, window, pixels };
}
