import type { Registry } from 'prom-client';
import type { EventStore } from '../commands/ports/event-store.js';
import { Detector, type DetectorOptions } from './detector.js';
import { ImagePool, type ImagePoolOptions } from './image-pool.js';
import { InferenceMetrics } from './metrics.js';
import { ModelStore } from './model-store.js';
import type { BlobStore } from './ports/blob-store.js';
import type { PredictionCache } from './ports/prediction-cache.js';
import type { InspectionRequestSource } from './ports/request-source.js';
import {
  type CachedPrediction,
  InspectionProcessor,
  type InspectionProcessorOptions,
  type ProcessorLogger,
} from './processor.js';
import { SessionPool, type SessionPoolOptions } from './session-pool.js';

export interface InferenceServiceDeps {
  readonly store: EventStore;
  /** Images and models, both content-addressed. */
  readonly blobs: BlobStore;
  readonly cache?: PredictionCache<CachedPrediction>;
  readonly registry?: Registry;
  readonly logger?: ProcessorLogger;
}

export interface InferenceServiceOptions {
  readonly sessions?: SessionPoolOptions;
  /** Decode workers, memory budget and the shared pixel limit. */
  readonly images?: ImagePoolOptions;
  readonly detector?: DetectorOptions;
  readonly processor?: InspectionProcessorOptions;
}

/** The inference process's parts wired together: sessions, image workers, model store, detector, processor. */
export class InferenceService {
  readonly pool: SessionPool;
  readonly images: ImagePool;
  readonly models: ModelStore;
  readonly detector: Detector;
  readonly processor: InspectionProcessor;

  constructor(deps: InferenceServiceDeps, options: InferenceServiceOptions = {}) {
    this.pool = new SessionPool(options.sessions);
    this.models = new ModelStore(deps.blobs, { pool: this.pool });
    this.images = new ImagePool(options.images);
    this.detector = new Detector(this.pool, this.images, (sha256) => this.models.bytes(sha256), options.detector);
    this.processor = new InspectionProcessor(
      {
        store: deps.store,
        blobs: deps.blobs,
        detector: this.detector,
        ...(deps.cache ? { cache: deps.cache } : {}),
        ...(deps.logger ? { logger: deps.logger } : {}),
        ...(deps.registry ? { metrics: new InferenceMetrics(deps.registry) } : {}),
      },
      options.processor,
    );
  }

  /** Starts consuming requests from the source (embedded log subscription or Kafka). */
  start(source: InspectionRequestSource): Promise<void> {
    return this.processor.start(source);
  }

  /** Stops the source, lets running batches finish, then ends the session and image workers. */
  async stop(): Promise<void> {
    await this.processor.stop();
    await this.detector.close();
    await this.pool.close();
    await this.images.close();
  }
}
