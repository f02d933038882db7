import { Gauge, type Registry } from 'prom-client';
import { backoffCeiling } from '../../commands/ports/backoff.js';
import type { GlobalLog } from '../../commands/ports/event-store.js';
import { inBatchSpan } from '../../infra/traceparent.js';
import type { ProjectionLogger } from '../projection.js';
import { SearchCheckpointBehindError, type SearchIndex } from './ports.js';

export type SearchProjectorState = 'idle' | 'running' | 'retrying' | 'failed' | 'stopped';

export interface SearchProjectorStatus {
  readonly state: SearchProjectorState;
  /** Last checkpoint the index confirmed. */
  readonly indexedPosition: number;
  readonly headPosition: number;
  readonly lag: number;
  /** Consecutive failed attempts (0 when healthy). */
  readonly failures: number;
  readonly lastError: string | null;
}

export interface SearchProjectorOptions {
  readonly log: GlobalLog;
  readonly index: SearchIndex;
  readonly batchSize?: number;
  /** How often an idle projector looks for new events. */
  readonly idleMs?: number;
  /** Retry backoff: doubles from initialBackoffMs up to maxBackoffMs while the index is failing. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly logger?: ProjectionLogger;
  /** Lag, checkpoint and up gauges (`chitti_search_projection_*`) are registered here when given. */
  readonly registry?: Registry;
}

/** Data or code errors: retrying the same events cannot help. */
const PERMANENT_CODES = new Set(['invalid-event-payload', 'undecodable-event']);
const isPermanent = (error: unknown): boolean =>
  PERMANENT_CODES.has(String((error as { code?: unknown } | null)?.code ?? ''));

/**
 * Feeds a search index from the global log, in order, in batches. The index owns the checkpoint
 * (read at start and re-read whenever it says it is behind, e.g. after a rebuild). While the index
 * is down the projector retries with capped backoff and its lag grows; when the index is back it
 * resumes from the stored checkpoint.
 */
export class SearchProjector {
  private state: SearchProjectorState = 'idle';
  private position: number | null = null;
  private failures = 0;
  private lastError: string | null = null;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private readonly waiters: { position: number; resolve: () => void }[] = [];

  constructor(private readonly options: SearchProjectorOptions) {
    if (options.registry) this.registerMetrics(options.registry);
  }

  /** Indexes everything up to the head as it is now; throws on the first failure. Returns the checkpoint. */
  async catchUp(): Promise<number> {
    let position = await this.options.index.checkpoint();
    for (;;) {
      const step = await this.step(position);
      if (step === null) return position;
      position = step;
    }
  }

  start(): void {
    if (this.loop) return;
    this.state = 'running';
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (this.state !== 'failed') this.state = 'stopped';
    this.wake?.();
    await this.loop;
    this.loop = null;
  }

  async status(): Promise<SearchProjectorStatus> {
    const headPosition = await this.options.log.headPosition();
    const indexedPosition = this.position ?? 0;
    return {
      state: this.state,
      indexedPosition,
      headPosition,
      lag: Math.max(0, headPosition - indexedPosition),
      failures: this.failures,
      lastError: this.lastError,
    };
  }

  /** Resolves once the index's checkpoint reaches `position` (the projector must be started). */
  caughtUpTo(position: number): Promise<void> {
    if (this.position !== null && this.position >= position) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ position, resolve }));
  }

  /** One batch from `position`: the new checkpoint, or null when there was nothing to read. */
  private async step(position: number): Promise<number | null> {
    const batch = await this.options.log.readAll({ after: position, maxCount: this.options.batchSize ?? 500 });
    if (batch.length === 0) return null;
    const result = await inBatchSpan(
      'projection search',
      batch.map((event) => event.metadata.traceparent),
      { 'chitti.projection': 'search', 'chitti.batch.size': batch.length },
      () => this.options.index.indexBatch(batch, { after: position }),
    );
    return result.position;
  }

  private async run(): Promise<void> {
    const { logger } = this.options;
    while (this.state === 'running' || this.state === 'retrying') {
      try {
        if (this.position === null) this.progress(await this.options.index.checkpoint());
        const next = await this.step(this.position!);
        this.recovered();
        if (next === null) await this.sleep(this.options.idleMs ?? 200);
        else this.progress(next);
      } catch (error) {
        if (error instanceof SearchCheckpointBehindError) {
          logger?.warn({ checkpoint: error.checkpoint, after: error.after }, 'search index is behind: resuming there');
          this.position = error.checkpoint;
          continue;
        }
        this.lastError = error instanceof Error ? error.message : String(error);
        if (isPermanent(error)) {
          this.state = 'failed';
          logger?.error({ err: error, position: this.position }, 'search projection stopped');
          return;
        }
        this.failures++;
        this.state = 'retrying';
        const backoff = backoffCeiling(
          this.failures - 1,
          this.options.initialBackoffMs ?? 100,
          this.options.maxBackoffMs ?? 5_000,
        );
        logger?.warn({ err: error, failures: this.failures, backoffMs: backoff }, 'search indexing failed; retrying');
        await this.sleep(backoff);
      }
    }
  }

  private recovered(): void {
    if (this.state === 'retrying') {
      this.options.logger?.info({ failures: this.failures }, 'search index reachable again');
      this.state = 'running';
    }
    this.failures = 0;
    this.lastError = null;
  }

  private progress(position: number): void {
    this.position = position;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i]!;
      if (waiter.position <= position) {
        this.waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  private registerMetrics(registry: Registry): void {
    const projector = this;
    new Gauge({
      name: 'chitti_search_projection_lag_events',
      help: 'Events in the global log not yet in the search index (head - checkpoint).',
      registers: [registry],
      async collect() {
        const status = await projector.status().catch(() => null);
        if (status) this.set(status.lag);
      },
    });
    new Gauge({
      name: 'chitti_search_projection_checkpoint_position',
      help: 'Global position up to which the search index holds the log.',
      registers: [registry],
      collect() {
        this.set(projector.position ?? 0);
      },
    });
    new Gauge({
      name: 'chitti_search_projection_up',
      help: '1 while the search projection indexes (or idles caught up), 0 while retrying, failed or stopped.',
      registers: [registry],
      collect() {
        this.set(projector.state === 'running' ? 1 : 0);
      },
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
