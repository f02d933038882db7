import { Counter, Histogram, type Registry } from 'prom-client';
import type { DetectionTimings } from './detector.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Prometheus metrics of the inference processor, in the spirit of Triton's nv_inference_*:
 * queue and compute time apart, batch sizes (average batch = sum / count), cache hits, outcomes.
 */
export class InferenceMetrics {
  private readonly outcomes: Counter<'status'>;
  private readonly failures: Counter<'code' | 'final'>;
  private readonly results: Counter<'model' | 'role' | 'cached'>;
  private readonly stage: Histogram<'model' | 'stage'>;
  private readonly batchSize: Histogram<'model'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.outcomes = new Counter({
      name: 'chitti_inference_requests_total',
      help: 'Inspection requests handled, by outcome (recorded, already-done, failed)',
      labelNames: ['status'],
      registers,
    });
    this.failures = new Counter({
      name: 'chitti_inference_failures_total',
      help: 'Failed attempts by InspectionFailed code; final="true" ended the inspection',
      labelNames: ['code', 'final'],
      registers,
    });
    this.results = new Counter({
      name: 'chitti_inference_results_total',
      help: 'DetectionsRecorded by model (name@version), role and whether the prediction cache served it',
      labelNames: ['model', 'role', 'cached'],
      registers,
    });
    this.stage = new Histogram({
      name: 'chitti_inference_stage_seconds',
      help: 'Per-image time by stage: queue (waiting for a batch), preprocess, compute (session.run of its batch), postprocess',
      labelNames: ['model', 'stage'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.batchSize = new Histogram({
      name: 'chitti_inference_batch_size',
      help: 'Batch size each image ran in',
      labelNames: ['model'],
      buckets: [1, 2, 4, 8, 16, 32],
      registers,
    });
  }

  outcome(status: string): void {
    this.outcomes.inc({ status });
  }

  failure(code: string, final: boolean): void {
    this.failures.inc({ code, final: String(final) });
  }

  result(
    model: string,
    role: 'live' | 'shadow',
    cached: boolean,
    timings?: DetectionTimings,
    batchSize?: number,
  ): void {
    this.results.inc({ model, role, cached: String(cached) });
    if (!timings || batchSize === undefined) return;
    this.stage.observe({ model, stage: 'queue' }, timings.queueMs / 1000);
    this.stage.observe({ model, stage: 'preprocess' }, timings.preprocessMs / 1000);
    this.stage.observe({ model, stage: 'compute' }, timings.inferenceMs / 1000);
    this.stage.observe({ model, stage: 'postprocess' }, timings.postprocessMs / 1000);
    this.batchSize.observe({ model }, batchSize);
  }
}
