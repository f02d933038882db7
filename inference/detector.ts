import { currentTraceparent, inBatchSpan } from '../infra/traceparent.js';
import type { Detection, ThresholdsInput, Tiling, TilingUsed } from '../schemas/events/index.js';
import { type Batched, MicroBatcher } from './batcher.js';
import {
  classThresholds,
  type DecodeSpec,
  decodeDetections,
  detectionCandidates,
  OutputShapeError,
  type OutputTensor,
  roundedBox,
  toDetections,
} from './decode.js';
import type { ImagePool, OpenImage } from './image-pool.js';
import type { OutputLayout } from './model-store.js';
import { nonMaxSuppression } from './nms.js';
import type { SessionPool } from './session-pool.js';
import { mergeTileCandidates, type TileCandidate, toImageCandidates } from './tile-merge.js';
import { planInput, type TilePlan, tileAt, tileCount, tilingUsed } from './tiling.js';

/** A registered model version as the detector serves it (from ModelRegistered). */
export interface ServedModel {
  readonly sha256: string;
  readonly outputLayout: OutputLayout;
  readonly classes: readonly string[];
  readonly inputSize: { readonly width: number; readonly height: number };
  /** Tiled inspection of large images; null: every image letterboxed whole. */
  readonly tiling: Tiling | null;
}

export interface DetectorOptions {
  /** Largest batch per model (capped by a model's fixed export batch). Default 8. */
  readonly maxBatch?: number;
  /** Longest a request waits for companions. Default 5 ms. */
  readonly maxWaitMs?: number;
  /** Batches in flight per model. Default 2. */
  readonly maxInFlight?: number;
}

export interface DetectionTimings {
  readonly queueMs: number;
  readonly preprocessMs: number;
  readonly inferenceMs: number;
  readonly postprocessMs: number;
}

export interface DetectionResult {
  readonly detections: Detection[];
  readonly image: { readonly width: number; readonly height: number };
  readonly window: { readonly low: number; readonly high: number } | null;
  /** The tiles used; null when the whole image was letterboxed into one input. */
  readonly tiling: TilingUsed | null;
  readonly timings: DetectionTimings;
  readonly batchSize: number;
}

export interface DetectOptions {
  /** mm per image pixel, when known: sets the tiling scale of models with a target mm per input pixel. */
  readonly pixelSpacingMm?: number | null;
  /** Called after each batch of tiles, so callers can time out on a stall rather than on size. */
  readonly onProgress?: () => void;
}

/** A decoded image, ready for any model (letterboxed or tiled per model at detect time). */
export interface Opened {
  readonly image: OpenImage;
  readonly decodeMs: number;
}

interface BatchSlot {
  readonly output: OutputTensor;
  readonly index: number;
  readonly inferenceMs: number;
}

/** One image (or tile) waiting for a batch, with the trace of the request it belongs to. */
interface BatchItem {
  readonly tensor: Float32Array;
  readonly traceparent: string | undefined;
}

interface ModelLane {
  readonly batcher: MicroBatcher<BatchItem, BatchSlot>;
  readonly maxBatch: number;
}

/**
 * Image bytes in, detections out: decoding and windowing once per image, then letterboxing or
 * tiling per model, all in the image pool's workers; inference micro-batched per model version in
 * that version's worker session (the tiles of a large image batch with each other and with other
 * requests); then decoding + NMS, and for tiles the merge across tile borders.
 */
export class Detector {
  private readonly lanes = new Map<string, Promise<ModelLane>>();

  constructor(
    private readonly pool: SessionPool,
    private readonly images: ImagePool,
    /** The model's bytes by sha256, read only the first time a version is used. */
    private readonly modelBytes: (sha256: string) => Promise<Uint8Array>,
    private readonly options: DetectorOptions = {},
  ) {}

  /**
   * Decodes (and windows) an image once, within the image pool's memory budget; throws
   * ImageRejectedError for bad images. Release `image` when every model has run on it.
   */
  async open(bytes: Uint8Array): Promise<Opened> {
    const started = performance.now();
    const image = await this.images.open(bytes);
    return { image, decodeMs: performance.now() - started };
  }

  /**
   * Runs one opened image through a model: letterboxed whole, or in tiles when the model's tiling
   * says so (`pixelSpacingMm` sets the scale when the model names a target mm per input pixel).
   */
  async detect(
    opened: Opened,
    model: ServedModel,
    thresholds: ThresholdsInput,
    options: DetectOptions = {},
  ): Promise<DetectionResult> {
    const { image } = opened;
    const size = { width: image.width, height: image.height };
    const plan = planInput(size, model.inputSize, model.tiling, options.pixelSpacingMm ?? null);
    const lane = await this.lane(model);
    const spec = { layout: model.outputLayout, classes: model.classes };
    if (plan.kind === 'tiles') {
      return this.detectTiles(opened, plan.plan, lane, spec, thresholds, options.onProgress ?? (() => {}));
    }
    const started = performance.now();
    const { tensor, geometry } = await this.images.letterbox(image, model.inputSize);
    const preprocessMs = opened.decodeMs + (performance.now() - started);
    const batched: Batched<BatchSlot> = await lane.batcher.submit({ tensor, traceparent: currentTraceparent() });
    const decodeStarted = performance.now();
    const detections = decodeDetections(batched.result.output, batched.result.index, spec, thresholds, geometry);
    return {
      detections,
      image: size,
      window: image.window,
      tiling: null,
      timings: {
        queueMs: batched.queueMs,
        preprocessMs,
        inferenceMs: batched.result.inferenceMs,
        postprocessMs: performance.now() - decodeStarted,
      },
      batchSize: batched.batchSize,
    };
  }

  /**
   * Tiles cut a chunk (one batch) at a time, at most two chunks ahead of the model, so only a few
   * tile tensors exist at once whatever the image size; each tile's boxes are filtered and
   * NMS-ed in the tile, mapped to the image, and merged across tile borders at the end.
   */
  private async detectTiles(
    opened: Opened,
    plan: TilePlan,
    lane: ModelLane,
    spec: DecodeSpec,
    thresholds: ThresholdsInput,
    onProgress: () => void,
  ): Promise<DetectionResult> {
    const { image } = opened;
    const size = { width: image.width, height: image.height };
    const total = tileCount(plan);
    const chunk = lane.maxBatch;
    const candidates: TileCandidate[] = [];
    // Each tile is filtered per class before its NMS, so the merge only sees boxes that are kept.
    const confidence = classThresholds(spec.classes, thresholds);
    const timings = { queueMs: 0, preprocessMs: opened.decodeMs, inferenceMs: 0, postprocessMs: 0 };
    let batchSize = 1;
    let next = 0;
    const worker = async () => {
      while (next < total) {
        const positions = Array.from({ length: Math.min(chunk, total - next) }, (_, i) => tileAt(plan, next + i));
        next += positions.length;
        const cutStarted = performance.now();
        const tensors = await this.images.tiles(image, plan, positions);
        timings.preprocessMs += performance.now() - cutStarted;
        const traceparent = currentTraceparent();
        const results = await Promise.all(tensors.map((tensor) => lane.batcher.submit({ tensor, traceparent })));
        const decodeStarted = performance.now();
        for (const [i, batched] of results.entries()) {
          timings.queueMs += batched.queueMs;
          timings.inferenceMs += batched.result.inferenceMs / batched.batchSize;
          batchSize = Math.max(batchSize, batched.batchSize);
          const inTile = detectionCandidates(batched.result.output, batched.result.index, spec, confidence);
          const kept = nonMaxSuppression(inTile, thresholds.iou, thresholds.maxDetections);
          candidates.push(...toImageCandidates(kept, positions[i]!, plan, size));
        }
        timings.postprocessMs += performance.now() - decodeStarted;
        onProgress();
      }
    };
    await Promise.all([worker(), worker()]);
    const mergeStarted = performance.now();
    const merged = mergeTileCandidates(candidates, thresholds.iou, thresholds.maxDetections);
    const detections = toDetections(merged, spec, roundedBox);
    timings.postprocessMs += performance.now() - mergeStarted;
    return { detections, image: size, window: image.window, tiling: tilingUsed(plan), timings, batchSize };
  }

  /** Loads (and warms up) a model's session ahead of traffic. */
  async load(model: ServedModel): Promise<void> {
    await this.lane(model);
  }

  /** Drains the batchers; the session pool belongs to the caller. */
  async close(): Promise<void> {
    const lanes = await Promise.allSettled([...this.lanes.values()]);
    this.lanes.clear();
    await Promise.all(lanes.map((l) => (l.status === 'fulfilled' ? l.value.batcher.close() : undefined)));
  }

  private lane(model: ServedModel): Promise<ModelLane> {
    let lane = this.lanes.get(model.sha256);
    if (!lane) {
      lane = this.openLane(model);
      this.lanes.set(model.sha256, lane);
      lane.catch(() => this.lanes.delete(model.sha256));
    }
    return lane;
  }

  private async openLane(model: ServedModel): Promise<ModelLane> {
    const { width, height } = model.inputSize;
    // The pool hands back the same session each time, or a fresh one if its worker died.
    const session = () => this.pool.load(model.sha256, () => this.modelBytes(model.sha256));
    const first = await session();
    const batchDim = first.inputs[0]?.shape[0];
    const fixedBatch = typeof batchDim === 'number' && batchDim > 0 ? batchDim : null;
    // Warm up at the shape traffic will use (first runs allocate and tune).
    const warmBatch = fixedBatch ?? 1;
    await first.run(new Float32Array(warmBatch * 3 * height * width), [warmBatch, 3, height, width]);
    const maxBatch = Math.min(this.options.maxBatch ?? 8, fixedBatch ?? Number.POSITIVE_INFINITY);
    const imageSize = 3 * height * width;
    const batcher = new MicroBatcher<BatchItem, BatchSlot>(
      { maxBatch, maxWaitMs: this.options.maxWaitMs ?? 5, maxInFlight: this.options.maxInFlight ?? 2 },
      // One span per batch, linked to the trace of every request in it (a batch mixes requests).
      (items) =>
        inBatchSpan(
          'inference batch',
          items.map((item) => item.traceparent),
          { 'chitti.model.sha256': model.sha256, 'chitti.inference.batch_size': items.length },
          async () => {
            // A fixed-batch export needs exactly its batch: the rest stays zero.
            const batch = fixedBatch ?? items.length;
            const input = new Float32Array(batch * imageSize);
            for (const [i, item] of items.entries()) input.set(item.tensor, i * imageSize);
            const result = await (await session()).run(input, [batch, 3, height, width]);
            const output = result.outputs[0];
            if (!output) throw new OutputShapeError('the model returned no output');
            return items.map((_, index) => ({ output, index, inferenceMs: result.inferenceMs }));
          },
        ),
    );
    return { batcher, maxBatch };
  }
}
