import { hostname } from 'node:os';
import type { CommandResult } from '../commands/command-result.js';
import {
  type CommandContext,
  type CommandDeps,
  failInspection,
  filePixelSpacing,
  loadFile,
  loadInspection,
  loadModel,
  recordDetections,
  recordShadowFailure,
  startInference,
} from '../commands/index.js';
import { backoffCeiling, equalJitter } from '../commands/ports/backoff.js';
import type { EventStore } from '../commands/ports/event-store.js';
import type { Logger } from '../commands/ports/logger.js';
import { type DomainError, isDomainError } from '../domain/errors.js';
import { type InspectionState, measureDetections, modelKey } from '../domain/inspection/index.js';
import type { RecordDetections } from '../schemas/commands/inspection.js';
import type {
  Detection,
  ModelRef,
  PixelSpacingMm,
  ThresholdsInput,
  Tiling,
  TilingUsed,
} from '../schemas/events/index.js';
import { OutputShapeError } from './decode.js';
import type { DetectionResult, DetectionTimings, Detector, Opened, ServedModel } from './detector.js';
import {
  evolveProgress,
  type FailureCode,
  initialProgress,
  nextStep,
  type Outcome,
  type Role,
  type Step,
} from './inspection-workflow.js';
import type { InferenceMetrics } from './metrics.js';
import { ModelUnavailableError } from './model-store.js';
import type { BlobStore } from './ports/blob-store.js';
import type { PredictionCache } from './ports/prediction-cache.js';
import type { InspectionRequest, InspectionRequestSource, ProcessOutcome } from './ports/request-source.js';
import { ImageRejectedError } from './preprocess.js';
import { ModelSessionError } from './session-pool.js';

export type { FailureCode } from './inspection-workflow.js';

/** What the prediction cache holds per (image, model, thresholds, tiling input). */
export interface CachedPrediction {
  readonly detections: Detection[];
  readonly image: { readonly width: number; readonly height: number };
  readonly window: { readonly low: number; readonly high: number } | null;
  readonly tiling: TilingUsed | null;
}

/** The one logger port (commands/ports/logger.ts), under the name the processor's users know. */
export type ProcessorLogger = Logger;

export interface InspectionProcessorDeps {
  readonly store: EventStore;
  readonly blobs: BlobStore;
  readonly detector: Detector;
  readonly cache?: PredictionCache<CachedPrediction>;
  readonly logger?: ProcessorLogger;
  readonly metrics?: InferenceMetrics;
  /** Injectable for tests; default setTimeout. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface InspectionProcessorOptions {
  /** Recorded in InferenceStarted; default host:pid. */
  readonly worker?: string;
  /** Actor of the recorded events. Default 'inference'. */
  readonly actor?: string;
  /** Attempts per inspection, counted across redeliveries (from the stream). Default 3. */
  readonly maxAttempts?: number;
  /** First retry delay; doubles per attempt, with jitter. Default 200 ms. */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  /**
   * One attempt fails with 'timeout' when the model makes no progress (no image or tile batch
   * done) for this long. Default 120 s. Waiting for the image pool's memory budget is queueing,
   * not counted: a large image is slow, not failed.
   */
  readonly attemptTimeoutMs?: number;
  readonly cacheTtlSeconds?: number;
  /** Requests of one delivered batch handled at once (so micro-batches can fill). Default 16. */
  readonly concurrency?: number;
}

/** One delivery's working set: the inspection's state as the last command left it, and its image. */
interface Run {
  readonly request: InspectionRequest;
  state: InspectionState;
  readonly images: ImageCache;
  /** The error behind the latest ModelFailed outcome, for the log. */
  lastError?: unknown;
}

/** A command's answer: nothing, or the domain's refusal. */
interface CommandAnswer {
  readonly refused?: DomainError;
}

/** A model's result on one image, ready to be recorded. */
interface Prediction {
  readonly cached: boolean;
  readonly timings?: DetectionTimings;
  readonly batchSize?: number;
  record(inspectionId: string, role: Role): RecordDetections;
}

/** Bumped whenever preprocessing or decoding changes what a model would return for the same bytes. */
const PIPELINE_VERSION = 2;

/**
 * The model's tiling and the image's pixel spacing decide the model's input, so they are part of
 * the key (one sha256 may be registered under several names with different tiling).
 */
export function predictionCacheKey(
  blobSha256: string,
  modelSha256: string,
  thresholds: ThresholdsInput,
  input: { readonly tiling: Tiling | null; readonly pixelSpacingMm: number | null } = {
    tiling: null,
    pixelSpacingMm: null,
  },
): string {
  const { confidence, iou, maxDetections } = thresholds;
  const tiling = input.tiling
    ? `${input.tiling.overlapPx}/${input.tiling.mmPerInputPixel ?? 'native'}/${input.tiling.maxLetterboxShrink}`
    : 'whole';
  const key = `prediction:v${PIPELINE_VERSION}:${blobSha256}:${modelSha256}:${confidence}:${iou}:${maxDetections}:${tiling}:${input.pixelSpacingMm ?? '-'}`;
  // Per-class confidences in class order, so equal maps give one key; none: the key as it was
  // before they existed (what those entries hold is what an empty map would give).
  const classes = Object.entries(thresholds.classConfidence ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return classes.length === 0 ? key : `${key}:${JSON.stringify(classes)}`;
}

/** A failure with the code InspectionFailed records and whether another attempt may help. */
class AttemptFailure extends Error {
  constructor(
    readonly code: FailureCode,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

class BlobMissingError extends Error {}

function classify(error: unknown): AttemptFailure {
  if (error instanceof AttemptFailure) return error;
  if (error instanceof ImageRejectedError) return new AttemptFailure(error.code, error.message, false);
  if (error instanceof BlobMissingError) return new AttemptFailure('blob-missing', error.message, false);
  if (error instanceof ModelUnavailableError) return new AttemptFailure('model-unavailable', error.message, false);
  if (error instanceof OutputShapeError) return new AttemptFailure('model-error', error.message, false);
  if (error instanceof ModelSessionError) return new AttemptFailure('model-error', error.message, true);
  const message = error instanceof Error ? error.message : String(error);
  return new AttemptFailure('internal', message || 'unknown error', true);
}

/**
 * Turns InspectionRequested into results: for each request, loads the image by sha256, runs the
 * chosen model and then each shadow, and records InferenceStarted, DetectionsRecorded (live /
 * shadow) or InspectionFailed through the inspection commands, which decide on the stream's
 * current version and carry idempotency keys derived from inspection, attempt, model and role:
 * a redelivered request records nothing twice. Transient failures are retried with exponential
 * backoff up to maxAttempts; bad images, missing blobs and unknown models fail finally at once.
 * A shadow's failure is recorded once (ShadowInferenceFailed, not retried) and never affects the
 * inspection.
 */
export class InspectionProcessor {
  private readonly commandDeps: CommandDeps;
  private readonly worker: string;
  private readonly actor: string;
  private readonly maxAttempts: number;
  private readonly registrations = new Map<string, ServedModel>();
  private source: InspectionRequestSource | undefined;

  constructor(
    private readonly deps: InspectionProcessorDeps,
    private readonly options: InspectionProcessorOptions = {},
  ) {
    this.commandDeps = { store: deps.store };
    this.worker = options.worker ?? `${hostname()}:${process.pid}`;
    this.actor = options.actor ?? 'inference';
    this.maxAttempts = options.maxAttempts ?? 3;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) throw new RangeError('maxAttempts must be >= 1');
  }

  async start(source: InspectionRequestSource): Promise<void> {
    this.source = source;
    await source.start((requests) => this.handle(requests));
  }

  async stop(): Promise<void> {
    await this.source?.stop();
    this.source = undefined;
  }

  /** Processes requests concurrently (bounded), outcomes in request order. */
  async handle(requests: readonly InspectionRequest[]): Promise<ProcessOutcome[]> {
    const outcomes: ProcessOutcome[] = new Array(requests.length);
    let next = 0;
    const lane = async () => {
      while (next < requests.length) {
        const i = next++;
        outcomes[i] = await this.process(requests[i]!);
      }
    };
    const lanes = Math.max(1, Math.min(this.options.concurrency ?? 16, requests.length));
    await Promise.all(Array.from({ length: lanes }, lane));
    return outcomes;
  }

  async process(request: InspectionRequest): Promise<ProcessOutcome> {
    const outcome = await this.processOnce(request);
    this.deps.metrics?.outcome(outcome.status);
    return outcome;
  }

  /**
   * The runner of the inspection workflow (inspection-workflow.ts): reads the inspection once,
   * then carries out each step the workflow decides and feeds back what happened, with the state
   * each command answers with. Only a command the inspection refuses (a race with another
   * delivery, or a rule) costs another read.
   */
  private async processOnce(request: InspectionRequest): Promise<ProcessOutcome> {
    const run: Run = {
      request,
      state: await this.inspectionState(request.data.inspectionId),
      images: new ImageCache(
        () => this.blobSha256Of(request),
        (sha256) => this.blobBytes(sha256),
        (bytes) => this.deps.detector.open(bytes),
      ),
    };
    const options = { maxAttempts: this.maxAttempts };
    let progress = initialProgress();
    let latest: Outcome = { type: 'Delivered' };
    try {
      for (;;) {
        progress = evolveProgress(progress, latest);
        const step = nextStep(request, run.state, progress, latest, options);
        if (step.type === 'Done') return step.outcome;
        latest = await this.carryOut(step, run);
      }
    } finally {
      // The decoded image holds memory-budget bytes until every model of this delivery has run.
      await run.images.release();
    }
  }

  private async carryOut(step: Exclude<Step, { type: 'Done' }>, run: Run): Promise<Outcome> {
    const { request } = run;
    const { inspectionId } = request.data;
    switch (step.type) {
      case 'StartInference': {
        const { attempt } = step;
        const started = await this.command(run, () =>
          startInference(
            this.commandDeps,
            { inspectionId, attempt, worker: this.worker },
            this.context(request, `start:${attempt}`),
          ),
        );
        return started.refused
          ? { type: 'StartRefused', attempt, message: started.refused.message }
          : { type: 'Started', attempt };
      }
      case 'RunModel': {
        const { role, model } = step;
        let recorded: CommandAnswer;
        let prediction: Prediction;
        try {
          prediction = await this.predict(request, model, run.images);
          recorded = await this.command(run, () =>
            recordDetections(
              this.commandDeps,
              prediction.record(inspectionId, role),
              this.context(request, `detections:${role}:${model.name}@${model.version}`),
            ),
          );
        } catch (error) {
          run.lastError = error;
          return { type: 'ModelFailed', role, model, failure: classify(error), refused: false };
        }
        if (recorded.refused) {
          run.lastError = recorded.refused;
          // A rule the inspection refuses (not a race with another processor) will not pass on retry.
          const failure = { code: 'internal' as const, message: recorded.refused.message, retryable: false };
          return { type: 'ModelFailed', role, model, failure, refused: true };
        }
        const { cached, timings, batchSize } = prediction;
        this.deps.metrics?.result(modelKey(model), role, cached, timings, batchSize);
        return { type: 'Recorded', role, model, cached };
      }
      case 'FailInspection': {
        const { attempt, failure, reason, final } = step;
        this.deps.logger?.[final ? 'error' : 'warn']({ inspectionId, attempt, code: failure.code, final }, reason);
        this.deps.metrics?.failure(failure.code, final);
        const recorded = await this.command(run, () =>
          failInspection(
            this.commandDeps,
            { inspectionId, code: failure.code, reason, attempt, final },
            this.context(request, `failed:${attempt}`),
          ),
        );
        return recorded.refused ? { type: 'FailureRefused' } : { type: 'FailureRecorded', attempt, failure, final };
      }
      case 'RecordShadowFailure': {
        const { model, failure, reason } = step;
        const key = modelKey(model);
        this.deps.logger?.warn(
          { inspectionId, shadow: key, code: failure.code, err: run.lastError },
          'shadow model failed; the inspection is unaffected',
        );
        const recorded = await this.command(run, () =>
          recordShadowFailure(
            this.commandDeps,
            { inspectionId, model, code: failure.code, reason },
            this.context(request, `shadow-failed:${key}`),
          ),
        );
        // The inspection may have been closed, or another delivery recorded the shadow meanwhile.
        if (recorded.refused) {
          this.deps.logger?.warn({ inspectionId, shadow: key, err: recorded.refused }, 'shadow failure not recorded');
        }
        return { type: 'ShadowFailureSettled', model };
      }
      case 'Backoff':
        await this.backoff(step.attempt);
        return { type: 'BackedOff' };
    }
  }

  /**
   * Runs one inspection command and carries the state it answers with. A refusal by the domain
   * (a race with another delivery, or a rule) is an answer too: the inspection's fresh state is
   * read so that the workflow can tell which. Any other error ends the delivery (redelivered later).
   */
  private async command(run: Run, send: () => Promise<CommandResult<InspectionState>>): Promise<CommandAnswer> {
    try {
      run.state = (await send()).state;
      return {};
    } catch (error) {
      if (!isDomainError(error)) throw error;
      run.state = await this.inspectionState(run.request.data.inspectionId);
      return { refused: error };
    }
  }

  /** Runs one model on the request's image, or takes its prediction from the cache. */
  private async predict(request: InspectionRequest, ref: ModelRef, images: ImageCache): Promise<Prediction> {
    const { thresholds } = request.data;
    const model = await this.servedModel(ref);
    const blobSha256 = await images.sha256();
    const fileSpacing = await filePixelSpacing(this.commandDeps, request.data.fileId);
    const pixelSpacingMm = model.tiling?.mmPerInputPixel == null ? null : scalarSpacing(fileSpacing);
    const cacheKey = predictionCacheKey(blobSha256, model.sha256, thresholds, { tiling: model.tiling, pixelSpacingMm });
    let result: DetectionResult | undefined;
    const hit = await this.cacheGet(cacheKey);
    if (!hit) {
      const opened = await images.opened();
      result = await this.withTimeout((onProgress) =>
        this.deps.detector.detect(opened, model, thresholds, { pixelSpacingMm, onProgress }),
      );
      await this.cacheSet(cacheKey, {
        detections: result.detections,
        image: result.image,
        window: result.window,
        tiling: result.tiling,
      });
    }
    const prediction = hit ?? result!;
    return {
      cached: hit !== undefined,
      ...(result ? { timings: result.timings, batchSize: result.batchSize } : {}),
      record: (inspectionId, role) => ({
        inspectionId,
        role,
        model: { name: ref.name, version: ref.version, sha256: model.sha256 },
        ...measureDetections(prediction.detections, fileSpacing),
        image: prediction.image,
        window: prediction.window,
        tiling: prediction.tiling,
        thresholds,
        timings: result?.timings ?? { queueMs: 0, preprocessMs: 0, inferenceMs: 0, postprocessMs: 0 },
        batchSize: result?.batchSize ?? 1,
        cached: hit !== undefined,
      }),
    };
  }

  /** The registered model behind a reference; registrations never change, so they are kept. */
  private async servedModel(ref: ModelRef): Promise<ServedModel> {
    const key = `${ref.name}@${ref.version}`;
    let served = this.registrations.get(key);
    if (!served) {
      const { state } = await loadModel(this.commandDeps, ref.name);
      const registration = state.versions[ref.version]?.registration;
      if (!registration) throw new AttemptFailure('model-unavailable', `model ${key} is not registered`, false);
      served = {
        sha256: registration.sha256,
        outputLayout: registration.outputLayout,
        classes: registration.classes,
        inputSize: registration.inputSize,
        tiling: registration.tiling ?? null,
      };
      this.registrations.set(key, served);
    }
    if (ref.sha256 !== null && ref.sha256 !== served.sha256) {
      throw new AttemptFailure(
        'model-unavailable',
        `model ${key} was requested as ${ref.sha256} but is registered as ${served.sha256}`,
        false,
      );
    }
    return served;
  }

  private async blobSha256Of(request: InspectionRequest): Promise<string> {
    if (request.data.fileSha256) return request.data.fileSha256;
    const { state } = await loadFile(this.commandDeps, request.data.fileId);
    if (state.status !== 'uploaded') throw new BlobMissingError(`file ${request.data.fileId} is ${state.status}`);
    return state.upload.sha256;
  }

  private async blobBytes(sha256: string): Promise<Buffer> {
    const bytes = await this.deps.blobs.get(sha256);
    if (!bytes) throw new BlobMissingError(`the image ${sha256} is not in the blob store`);
    return bytes;
  }

  private async inspectionState(inspectionId: string): Promise<InspectionState> {
    return (await loadInspection(this.commandDeps, inspectionId)).state;
  }

  private context(request: InspectionRequest, step: string): CommandContext {
    const ctx: { -readonly [K in keyof CommandContext]: CommandContext[K] } = {
      actor: this.actor,
      idempotencyKey: `inference:${request.data.inspectionId}:${step}`,
      causationId: request.eventId,
      correlationId: request.metadata.correlationId ?? request.eventId,
    };
    if (request.metadata.traceparent) ctx.traceparent = request.metadata.traceparent;
    return ctx;
  }

  private async cacheGet(key: string): Promise<CachedPrediction | undefined> {
    if (!this.deps.cache) return undefined;
    try {
      return await this.deps.cache.get(key);
    } catch (error) {
      this.deps.logger?.warn({ err: error }, 'prediction cache read failed; running the model');
      return undefined;
    }
  }

  private async cacheSet(key: string, value: CachedPrediction): Promise<void> {
    if (!this.deps.cache) return;
    try {
      await this.deps.cache.set(key, value, this.options.cacheTtlSeconds ?? 86_400);
    } catch (error) {
      this.deps.logger?.warn({ err: error }, 'prediction cache write failed');
    }
  }

  /** Runs `work`, failing with 'timeout' once it goes `attemptTimeoutMs` without calling its progress callback. */
  private async withTimeout<T>(work: (onProgress: () => void) => Promise<T>): Promise<T> {
    const limit = this.options.attemptTimeoutMs ?? 120_000;
    let timer: NodeJS.Timeout | undefined;
    let fail: (error: AttemptFailure) => void = () => {};
    const timeout = new Promise<never>((_, reject) => {
      fail = reject;
    });
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => fail(new AttemptFailure('timeout', `no progress within ${limit} ms`, true)), limit);
    };
    arm();
    try {
      return await Promise.race([work(arm), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async backoff(attempt: number): Promise<void> {
    const base = this.options.backoffMs ?? 200;
    const cap = this.options.maxBackoffMs ?? 5_000;
    const delay = equalJitter(backoffCeiling(attempt - 1, base, cap));
    await (this.deps.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms))))(delay);
  }
}

/**
 * The request's image for one delivery: its sha256 and bytes read once, decoded once for every
 * model (live and shadows; each letterboxes or tiles it for its own input). A failed step is
 * forgotten, so a retry redoes it; release() gives the decoded pixels back to the memory budget.
 */
class ImageCache {
  private sha: Promise<string> | undefined;
  private bytes: Promise<Buffer> | undefined;
  private decoded: Promise<Opened> | undefined;

  constructor(
    private readonly resolveSha256: () => Promise<string>,
    private readonly readBytes: (sha256: string) => Promise<Buffer>,
    private readonly open: (bytes: Uint8Array) => Promise<Opened>,
  ) {}

  sha256(): Promise<string> {
    this.sha ??= forgetOnFailure(this.resolveSha256(), () => {
      this.sha = undefined;
    });
    return this.sha;
  }

  opened(): Promise<Opened> {
    this.bytes ??= forgetOnFailure(
      this.sha256().then((sha) => this.readBytes(sha)),
      () => {
        this.bytes = undefined;
      },
    );
    this.decoded ??= forgetOnFailure(
      this.bytes.then((bytes) => this.open(bytes)),
      () => {
        this.decoded = undefined;
      },
    );
    return this.decoded;
  }

  async release(): Promise<void> {
    const decoded = this.decoded;
    this.decoded = undefined;
    this.bytes = undefined;
    (await decoded?.catch(() => undefined))?.image.release();
  }
}

function forgetOnFailure<T>(promise: Promise<T>, forget: () => void): Promise<T> {
  promise.catch(forget);
  return promise;
}

/**
 * One mm-per-pixel figure for tiling at a target scale (a model tiling at native resolution needs
 * none): the mean of the row and column spacing, which differ only on anisotropic detectors.
 */
function scalarSpacing(spacing: PixelSpacingMm | undefined): number | null {
  return spacing ? (spacing.row + spacing.column) / 2 : null;
}
