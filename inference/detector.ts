import type { Detection, Thresholds } from '../schemas/events/index.js';
import { type Batched, MicroBatcher } from './batcher.js';
import { decodeDetections, OutputShapeError, type OutputTensor } from './decode.js';
import type { OutputLayout } from './model-store.js';
import { type DecodeOptions, type PreparedImage, prepareImage } from './preprocess.js';
import type { SessionPool } from './session-pool.js';

/** A registered model version as the detector serves it (from ModelRegistered). */
export interface ServedModel {
  readonly sha256: string;
  readonly outputLayout: OutputLayout;
  readonly classes: readonly string[];
  readonly inputSize: { readonly width: number; readonly height: number };
}

export interface DetectorOptions {
  /** Largest batch per model (capped by a model's fixed export batch). Default 8. */
  readonly maxBatch?: number;
  /** Longest a request waits for companions. Default 5 ms. */
  readonly maxWaitMs?: number;
  /** Batches in flight per model. Default 2. */
  readonly maxInFlight?: number;
  readonly decode?: DecodeOptions;
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
  readonly timings: DetectionTimings;
  readonly batchSize: number;
}

export interface Prepared {
  readonly image: PreparedImage;
  readonly preprocessMs: number;
}

interface BatchSlot {
  readonly output: OutputTensor;
  readonly index: number;
  readonly inferenceMs: number;
}

interface ModelLane {
  readonly batcher: MicroBatcher<Float32Array, BatchSlot>;
}

/**
 * Image bytes in, detections out: preprocessing (sharp + letterbox) on this thread, inference
 * micro-batched per model version in that version's worker session, then decoding + NMS.
 */
export class Detector {
  private readonly lanes = new Map<string, Promise<ModelLane>>();

  constructor(
    private readonly pool: SessionPool,
    /** The model's bytes by sha256, read only the first time a version is used. */
    private readonly modelBytes: (sha256: string) => Promise<Uint8Array>,
    private readonly options: DetectorOptions = {},
  ) {}

  /** Decodes and letterboxes once for a model input size; throws ImageRejectedError for bad images. */
  async prepare(bytes: Uint8Array, inputSize: ServedModel['inputSize']): Promise<Prepared> {
    const started = performance.now();
    const image = await prepareImage(bytes, inputSize, this.options.decode);
    return { image, preprocessMs: performance.now() - started };
  }

  /** Runs one prepared image through a model (batched with concurrent requests for the same model). */
  async detect(prepared: Prepared, model: ServedModel, thresholds: Thresholds): Promise<DetectionResult> {
    const { image } = prepared;
    if (
      image.geometry.target.width !== model.inputSize.width ||
      image.geometry.target.height !== model.inputSize.height
    ) {
      throw new RangeError('the image was prepared for another input size');
    }
    const lane = await this.lane(model);
    const batched: Batched<BatchSlot> = await lane.batcher.submit(image.tensor);
    const started = performance.now();
    const spec = { layout: model.outputLayout, classes: model.classes };
    const detections = decodeDetections(batched.result.output, batched.result.index, spec, thresholds, image.geometry);
    return {
      detections,
      image: image.image,
      window: image.window,
      timings: {
        queueMs: batched.queueMs,
        preprocessMs: prepared.preprocessMs,
        inferenceMs: batched.result.inferenceMs,
        postprocessMs: performance.now() - started,
      },
      batchSize: batched.batchSize,
    };
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
    const batcher = new MicroBatcher<Float32Array, BatchSlot>(
      { maxBatch, maxWaitMs: this.options.maxWaitMs ?? 5, maxInFlight: this.options.maxInFlight ?? 2 },
      async (tensors) => {
        // A fixed-batch export needs exactly its batch: the rest stays zero.
        const batch = fixedBatch ?? tensors.length;
        const input = new Float32Array(batch * imageSize);
        for (const [i, t] of tensors.entries()) input.set(t, i * imageSize);
        const result = await (await session()).run(input, [batch, 3, height, width]);
        const output = result.outputs[0];
        if (!output) throw new OutputShapeError('the model returned no output');
        return tensors.map((_, index) => ({ output, index, inferenceMs: result.inferenceMs }));
      },
    );
    return { batcher };
  }
}
