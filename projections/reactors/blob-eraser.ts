import type pg from 'pg';
import type { GlobalLog, LogSubscription } from '../../commands/ports/event-store.js';
import type { BlobStore } from '../../inference/ports/blob-store.js';
import type { RecordedEvent } from '../../schemas/events/index.js';
import type { ProjectionLogger } from '../projection.js';
import { inTransaction } from '../transaction.js';
import {
  advanceReactorCheckpoint,
  applyReferenceChanges,
  claimDueErasures,
  dropPendingErasure,
  ensureReactorCheckpoint,
  ensureReactorTables,
  liveReferences,
  readReactorCheckpoint,
  referenceChanges,
  writeReactorCheckpoint,
} from './blob-references.js';

export interface BlobEraserOptions {
  readonly pool: pg.Pool;
  readonly log: GlobalLog;
  readonly blobs: BlobStore;
  readonly logger?: ProjectionLogger;
  /**
   * How long after a FileDeleted its blob stays, so that an upload of the same bytes that has put
   * the blob but not yet appended its FileUploaded (a window of milliseconds) is not robbed of it.
   */
  readonly graceMs?: number;
  /** Milliseconds since the epoch; tests inject one to pass the grace period without waiting. */
  readonly clock?: () => number;
  /** How often due erasures are looked for besides after each batch. */
  readonly sweepIntervalMs?: number;
  readonly batchSize?: number;
}

/** The eraser's checkpoint name; several eraser processes share one checkpoint and one reference table safely. */
export const BLOB_ERASER_CHECKPOINT = 'blob-eraser';

export const DEFAULT_ERASURE_GRACE_MS = 60_000;
const DEFAULT_SWEEP_INTERVAL_MS = 5_000;
const ERASURES_PER_SWEEP = 100;
/** A sweep that finds the eraser further behind the log head than this waits for it to catch up. */
const MAX_UNAPPLIED_TAIL = 1_000;

export class BlobEraserStoppedError extends Error {
  readonly code = 'blob-eraser-stopped';
}

const silent: ProjectionLogger = { info() {}, warn() {}, error() {} };

/**
 * Erases the blob of a deleted file (DESIGN: FileDeleted is a tombstone, the blob is erased, the
 * event kept) once no live file references the same content-addressed bytes any more.
 *
 * Two steps. Applying the log keeps, in one transaction with the checkpoint, which live file
 * references which sha256 and which unreferenced blobs wait for erasure. Sweeping erases the
 * waiting blobs whose grace period is over, after checking again against everything the log holds
 * at that moment (including events this eraser has not applied yet), so a re-upload of the same
 * bytes that has been appended is never erased under it.
 *
 * What remains: an upload that put its bytes before a sweep's look at the log and appends its
 * FileUploaded only after that sweep erased them. The grace period makes this need a re-upload of
 * exactly those bytes within milliseconds of the erasure, a full grace period after the deletion;
 * the uploader can close it for good by checking `blobs.has` after its append and putting again.
 */
export class BlobEraser {
  private readonly name = BLOB_ERASER_CHECKPOINT;
  private readonly graceMs: number;
  private readonly clock: () => number;
  private readonly logger: ProjectionLogger;
  private subscription: LogSubscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checkpoint = 0;
  private running = false;
  private sweeping: Promise<number> | undefined;
  private waiters: { position: number; resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(private readonly options: BlobEraserOptions) {
    this.graceMs = options.graceMs ?? DEFAULT_ERASURE_GRACE_MS;
    if (!Number.isFinite(this.graceMs) || this.graceMs < 0) throw new RangeError('graceMs must be >= 0');
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? silent;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const { pool, log } = this.options;
    this.checkpoint = await inTransaction(pool, async (tx) => {
      await ensureReactorTables(tx);
      return ensureReactorCheckpoint(tx, this.name);
    });
    this.running = true;
    this.subscription = log.subscribe({
      after: this.checkpoint,
      batchSize: this.options.batchSize ?? 500,
      name: `reactor:${this.name}`,
      handle: (batch) => this.handle(batch),
      // The subscription retries the same batch after a backoff; nothing is skipped.
      onError: (error) => this.logger.warn({ reactor: this.name, err: error }, 'blob eraser batch failed; retrying'),
    });
    this.timer = setInterval(() => void this.sweep(), this.options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS);
    this.timer.unref();
    this.logger.info({ reactor: this.name, checkpoint: this.checkpoint }, 'blob eraser started');
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.subscription?.stop();
    this.subscription = undefined;
    await this.sweeping;
    const pending = this.waiters;
    this.waiters = [];
    for (const w of pending) w.reject(new BlobEraserStoppedError(`${this.name} stopped`));
  }

  /** Resolves once events up to `position` are applied and the erasures then due are done. */
  caughtUpTo(position: number): Promise<void> {
    if (this.checkpoint >= position) return Promise.resolve();
    if (!this.running) return Promise.reject(new BlobEraserStoppedError(`${this.name} is not running`));
    return new Promise((resolve, reject) => this.waiters.push({ position, resolve, reject }));
  }

  /**
   * Erases the blobs whose grace period is over and that nothing references; returns how many.
   * Runs after every batch that references or releases a blob, and on a timer; one sweep at a
   * time per process.
   */
  sweep(): Promise<number> {
    this.sweeping ??= this.eraseDue()
      .catch((error: unknown) => {
        this.logger.warn({ reactor: this.name, err: error }, 'blob erasure failed; it stays due for the next sweep');
        return 0;
      })
      .finally(() => {
        this.sweeping = undefined;
      });
    return this.sweeping;
  }

  private async handle(batch: readonly RecordedEvent[]): Promise<void> {
    if (!this.running || batch.length === 0) return;
    const last = batch[batch.length - 1]!.globalPosition;
    if (
      referenceChanges(batch).length === 0 &&
      (await advanceReactorCheckpoint(this.options.pool, this.name, this.checkpoint, last))
    ) {
      // Nothing referenced or released: no erasure became due through this batch (the timer
      // sweeps for those that fall due with time), so no transaction and no sweep.
      this.checkpoint = last;
      this.resolveWaiters();
      return;
    }
    this.checkpoint = await inTransaction(this.options.pool, async (tx) => {
      // The row lock serialises this batch with another eraser process under the same name.
      const stored = await readReactorCheckpoint(tx, this.name, { lock: true });
      if (stored === undefined) throw new BlobEraserStoppedError(`checkpoint of ${this.name} disappeared`);
      const fresh = batch.filter((e) => e.globalPosition > stored);
      await applyReferenceChanges(tx, referenceChanges(fresh), this.graceMs);
      const next = Math.max(stored, last);
      await writeReactorCheckpoint(tx, this.name, next);
      return next;
    });
    await this.sweep();
    this.resolveWaiters();
  }

  private resolveWaiters(): void {
    const pending = this.waiters;
    this.waiters = pending.filter((w) => w.position > this.checkpoint);
    for (const w of pending) if (w.position <= this.checkpoint) w.resolve();
  }

  private async eraseDue(): Promise<number> {
    const { pool, log, blobs } = this.options;
    return inTransaction(pool, async (tx) => {
      // Claimed rows stay locked until commit: a FileUploaded being applied meanwhile waits for us.
      const due = await claimDueErasures(tx, new Date(this.clock()), ERASURES_PER_SWEEP);
      if (due.length === 0) return 0;
      const applied = (await readReactorCheckpoint(tx, this.name)) ?? 0;
      const reuploaded = await uploadsNotYetApplied(log, applied);
      if (reuploaded === 'too-far-behind') return 0;
      let erased = 0;
      for (const sha256 of due) {
        if (reuploaded.has(sha256)) continue; // applying that FileUploaded takes it off the queue
        if ((await liveReferences(tx, sha256)) === 0) {
          // At-least-once is enough: if this transaction fails after the blob is gone, the row stays
          // due and the next sweep deletes again, which finds nothing and changes nothing.
          if (await blobs.delete(sha256)) {
            erased++;
            this.logger.info({ reactor: this.name, sha256 }, 'blob of deleted file erased');
          }
        }
        await dropPendingErasure(tx, sha256);
      }
      return erased;
    });
  }
}

/** sha256s uploaded in the log after `applied`, up to the head now; too far behind to tell, we wait. */
async function uploadsNotYetApplied(log: GlobalLog, applied: number): Promise<Set<string> | 'too-far-behind'> {
  const head = await log.headPosition();
  const shas = new Set<string>();
  if (head <= applied) return shas;
  const tail = await log.readAll({ after: applied, maxCount: MAX_UNAPPLIED_TAIL });
  const reached = tail.at(-1)?.globalPosition ?? applied;
  if (tail.length === MAX_UNAPPLIED_TAIL && reached < head) return 'too-far-behind';
  for (const change of referenceChanges(tail)) if (change.kind === 'referenced') shas.add(change.sha256);
  return shas;
}
