import pg from 'pg';
import { Gauge, type Registry } from 'prom-client';
import { backoffCeiling } from '../commands/ports/backoff.js';
import type { GlobalLog, LogSubscription } from '../commands/ports/event-store.js';
import { isDependencyUnavailable, isRetryableConflict } from '../commands/ports/unavailable.js';
import { inBatchSpan } from '../infra/traceparent.js';
import type { RecordedEvent } from '../schemas/events/index.js';
import { applyEvents } from './apply.js';
import { CHECKPOINTS, ensureProjection, readCheckpoint } from './generations.js';
import { handlesEvent, type Projection, type ProjectionLogger } from './projection.js';
import { rebuildProjection } from './rebuild.js';
import { inTransaction } from './transaction.js';

export type ProjectionState = 'starting' | 'rebuilding' | 'running' | 'failed' | 'stopped';

export interface ProjectionStatus {
  readonly name: string;
  readonly state: ProjectionState;
  readonly checkpoint: number;
  readonly head: number;
  readonly lag: number;
  readonly error?: string;
}

export interface RunnerOptions {
  readonly pool: pg.Pool;
  readonly log: GlobalLog;
  readonly projections: readonly Projection[];
  readonly logger: ProjectionLogger;
  readonly batchSize?: number;
  /** Lag and checkpoint gauges are registered here when given. */
  readonly registry?: Registry;
  /** Transient failures of a batch are retried this many times (with backoff) before the projection stops. */
  readonly retries?: number;
  /** Test hook: holds each batch's transaction open this long before commit, so a kill can land mid-batch. */
  readonly batchDelayMs?: number;
}

const HEAD_REFRESH_MS = 500;
const { escapeLiteral } = pg;

export class ProjectionStoppedError extends Error {
  readonly code = 'projection-stopped';
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Mistakes in the data or code: retrying cannot help, stop at once. */
const isPermanent = (error: unknown): boolean =>
  error instanceof ProjectionStoppedError ||
  (typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    ['unknown-event-type', 'invalid-event-payload', 'undecodable-event'].includes(
      String((error as { code: unknown }).code),
    ));

/** Connection loss, server shutdown, too many clients, a deadlock: the same batch will work on a later try. */
const isTransientDatabaseError = (error: unknown): boolean =>
  isDependencyUnavailable(error) || isRetryableConflict(error);

/** Feeds one projection from the log: each batch and its checkpoint commit together. */
class ProjectionWorker {
  state: ProjectionState = 'starting';
  checkpoint = 0;
  error: string | undefined;
  private subscription: LogSubscription | undefined;
  /** The end of the last batch the subscription handed us, to detect a checkpoint moved backwards. */
  private delivered = 0;
  private waiters: { position: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly stopping = new AbortController();

  constructor(
    readonly projection: Projection,
    private readonly options: RunnerOptions,
    private readonly onProgress: () => void,
  ) {}

  async start(): Promise<void> {
    const { pool, log, logger } = this.options;
    let checkpoint = await ensureProjection(pool, this.projection);
    if (checkpoint.version !== this.projection.version) {
      this.state = 'rebuilding';
      logger.warn(
        { projection: this.projection.name, from: checkpoint.version, to: this.projection.version },
        'projection version changed: rebuilding; the old model stays readable meanwhile',
      );
      await rebuildProjection(pool, log, this.projection.name, {
        projections: [this.projection],
        logger,
        batchSize: this.options.batchSize,
      });
      checkpoint = await ensureProjection(pool, this.projection);
    }
    if (this.state === 'stopped') return;
    this.checkpoint = checkpoint.position;
    this.delivered = checkpoint.position;
    this.state = 'running';
    this.subscription = log.subscribe({
      after: checkpoint.position,
      batchSize: this.options.batchSize ?? 500,
      name: `projection:${this.projection.name}`,
      handle: (batch) => this.handle(batch),
      // Reading the log or applying the batch failed; the subscription retries the same batch after a backoff.
      onError: (error) =>
        this.options.logger.warn(
          { projection: this.projection.name, err: error },
          'database unavailable or reading the global log failed; retrying',
        ),
    });
    logger.info({ projection: this.projection.name, checkpoint: checkpoint.position }, 'projection started');
  }

  async stop(): Promise<void> {
    if (this.state !== 'failed') this.state = 'stopped';
    this.stopping.abort();
    await this.subscription?.stop();
    this.rejectWaiters(new ProjectionStoppedError(`projection ${this.projection.name} stopped`));
  }

  caughtUpTo(position: number): Promise<void> {
    if (this.checkpoint >= position) return Promise.resolve();
    if (this.state === 'failed' || this.state === 'stopped') {
      return Promise.reject(new ProjectionStoppedError(`projection ${this.projection.name} is ${this.state}`));
    }
    return new Promise((resolve, reject) => this.waiters.push({ position, resolve, reject }));
  }

  private async handle(batch: readonly RecordedEvent[]): Promise<void> {
    if (this.state !== 'running' || batch.length === 0) return;
    const retries = this.options.retries ?? 3;
    for (let attempt = 0, failures = 0; ; attempt++) {
      try {
        await inBatchSpan(
          `projection ${this.projection.name}`,
          batch.map((event) => event.metadata.traceparent),
          { 'chitti.projection': this.projection.name, 'chitti.batch.size': batch.length },
          () => this.applyBatch(batch),
        );
        return;
      } catch (error) {
        if (this.state !== 'running') return; // stopped meanwhile: the batch stays for the next start
        // Losing the database is not the projection's fault: the subscription waits it out (and
        // shows as retrying) and hands this batch again.
        if (isTransientDatabaseError(error)) throw error;
        failures++;
        if (isPermanent(error) || failures > retries) {
          this.fail(error, batch);
          return;
        }
        this.options.logger.warn(
          { projection: this.projection.name, attempt: attempt + 1, err: error },
          'projection batch failed; retrying',
        );
        await sleep(backoffCeiling(attempt, 100, 30_000), this.stopping.signal);
      }
    }
  }

  private async applyBatch(batch: readonly RecordedEvent[]): Promise<void> {
    const last = batch[batch.length - 1]!.globalPosition;
    if (!batch.some((event) => handlesEvent(this.projection, event.type)) && (await this.advancePast(last))) {
      this.delivered = last;
      this.checkpoint = last;
      this.resolveWaiters();
      this.onProgress();
      return;
    }
    const position = await inTransaction(this.options.pool, async (tx) => {
      // The row lock serialises this batch with other projector processes and with a rebuild's swap.
      const stored = await readCheckpoint(tx, this.projection.name, { lock: true });
      if (!stored) throw new ProjectionStoppedError(`checkpoint of ${this.projection.name} disappeared`);
      if (stored.version !== this.projection.version) {
        throw new ProjectionStoppedError(
          `projection ${this.projection.name} is at version ${stored.version} in the database, this process runs version ${this.projection.version}`,
        );
      }
      if (stored.position < this.delivered) {
        throw new ProjectionStoppedError(
          `checkpoint of ${this.projection.name} moved backwards (${stored.position} < ${this.delivered})`,
        );
      }
      // Data and checkpoint commit together, so a crash that loses this commit loses both: replay repairs it.
      await tx.query('SET LOCAL synchronous_commit = off');
      // A rebuild swap (or another projector) may already have applied part or all of this batch.
      const fresh = batch.filter((e) => e.globalPosition > stored.position);
      await applyEvents(tx, this.projection, fresh, stored.generation);
      if (this.options.batchDelayMs) await sleep(this.options.batchDelayMs);
      const next = Math.max(stored.position, last);
      await tx.query(`UPDATE ${CHECKPOINTS} SET position = $2, updated_at = now() WHERE name = $1`, [
        this.projection.name,
        next,
      ]);
      return next;
    });
    this.delivered = last;
    this.checkpoint = position;
    this.resolveWaiters();
    this.onProgress();
  }

  /**
   * A batch with nothing this projection reads (most batches of most projections): the checkpoint
   * moves in one round trip, no transaction around a lock, a read and an empty apply. Only the
   * plain case: same version, checkpoint where this worker left it (not moved backwards, not
   * already past by a rebuild swap or another projector); otherwise false, and the full path
   * checks and reports as it always does.
   */
  private async advancePast(last: number): Promise<boolean> {
    const { name, version } = this.projection;
    // One simple-protocol round trip, one implicit transaction (a failure rolls all of it back);
    // its commit need not wait for the WAL flush, as the full path's.
    const results = (await this.options.pool.query(
      `SET LOCAL synchronous_commit = off;
       UPDATE ${CHECKPOINTS} SET position = ${Number(last)}, updated_at = now()
        WHERE name = ${escapeLiteral(name)} AND version = ${Number(version)}
          AND position >= ${Number(this.delivered)} AND position < ${Number(last)}`,
    )) as unknown as { rowCount: number | null }[];
    return results[1]?.rowCount === 1;
  }

  private fail(error: unknown, batch?: readonly RecordedEvent[]): void {
    if (this.state === 'failed') return;
    this.state = 'failed';
    this.error = error instanceof Error ? error.message : String(error);
    this.options.logger.error(
      {
        projection: this.projection.name,
        checkpoint: this.checkpoint,
        batch: batch ? { from: batch[0]?.globalPosition, to: batch[batch.length - 1]?.globalPosition } : undefined,
        err: error,
      },
      `projection ${this.projection.name} stopped: ${this.error}`,
    );
    void this.subscription?.stop().catch(() => {});
    this.rejectWaiters(new ProjectionStoppedError(`projection ${this.projection.name} failed: ${this.error}`));
  }

  private resolveWaiters(): void {
    const pending = this.waiters;
    this.waiters = pending.filter((w) => w.position > this.checkpoint);
    for (const w of pending) if (w.position <= this.checkpoint) w.resolve();
  }

  private rejectWaiters(error: Error): void {
    const pending = this.waiters;
    this.waiters = [];
    for (const w of pending) w.reject(error);
  }
}

/**
 * Runs several projections in one process. Each has its own subscription and checkpoint; one that
 * fails logs why and stops, the others keep going.
 */
export class ProjectionRunner {
  private readonly workers: ProjectionWorker[];
  private head = 0;
  private headReadAt = 0;

  constructor(private readonly options: RunnerOptions) {
    const names = new Set<string>();
    for (const p of options.projections) {
      if (names.has(p.name)) throw new Error(`projection ${p.name} given twice`);
      names.add(p.name);
    }
    this.workers = options.projections.map((p) => new ProjectionWorker(p, options, () => this.noteProgress()));
    if (options.registry) this.registerMetrics(options.registry);
  }

  /** Sets up tables and checkpoints (rebuilding projections whose version changed), then goes live. */
  async start(): Promise<void> {
    await this.refreshHead();
    const results = await Promise.allSettled(this.workers.map((w) => w.start()));
    results.forEach((result, i) => {
      if (result.status === 'rejected') {
        const worker = this.workers[i]!;
        worker.state = 'failed';
        worker.error = result.reason instanceof Error ? result.reason.message : String(result.reason);
        this.options.logger.error(
          { projection: worker.projection.name, err: result.reason },
          `projection ${worker.projection.name} could not start: ${worker.error}`,
        );
      }
    });
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
  }

  /** Resolves once every running projection has applied everything up to `position` (default: the head now). */
  async caughtUp(position?: number): Promise<void> {
    const target = position ?? (await this.refreshHead());
    await Promise.all(this.workers.map((w) => w.caughtUpTo(target)));
  }

  /** Head − checkpoint as last observed; call `refreshHead` for a fresh head. */
  lag(name: string): number {
    const worker = this.workers.find((w) => w.projection.name === name);
    if (!worker) throw new Error(`no projection named ${name}`);
    return Math.max(0, this.head - worker.checkpoint);
  }

  status(): ProjectionStatus[] {
    return this.workers.map((w) => ({
      name: w.projection.name,
      state: w.state,
      checkpoint: w.checkpoint,
      head: this.head,
      lag: Math.max(0, this.head - w.checkpoint),
      ...(w.error ? { error: w.error } : {}),
    }));
  }

  async refreshHead(): Promise<number> {
    this.headReadAt = Date.now();
    this.head = Math.max(this.head, await this.options.log.headPosition());
    return this.head;
  }

  private noteProgress(): void {
    for (const w of this.workers) if (w.checkpoint > this.head) this.head = w.checkpoint;
    // Keep the head fresh while working through a backlog, without a query per batch.
    if (Date.now() - this.headReadAt > HEAD_REFRESH_MS) void this.refreshHead().catch(() => {});
  }

  private registerMetrics(registry: Registry): void {
    const runner = this;
    new Gauge({
      name: 'chitti_projection_lag_events',
      help: 'Events in the global log not yet applied by the projection (head - checkpoint).',
      labelNames: ['projection'],
      registers: [registry],
      async collect() {
        await runner.refreshHead().catch(() => {});
        for (const s of runner.status()) this.set({ projection: s.name }, s.lag);
      },
    });
    new Gauge({
      name: 'chitti_projection_checkpoint_position',
      help: 'Global position up to which the projection has applied the log.',
      labelNames: ['projection'],
      registers: [registry],
      collect() {
        for (const s of runner.status()) this.set({ projection: s.name }, s.checkpoint);
      },
    });
    new Gauge({
      name: 'chitti_projection_up',
      help: '1 while the projection is running, 0 when it has stopped or failed.',
      labelNames: ['projection'],
      registers: [registry],
      collect() {
        for (const s of runner.status()) this.set({ projection: s.name }, s.state === 'running' ? 1 : 0);
      },
    });
  }
}
