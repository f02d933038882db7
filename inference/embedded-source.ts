import { backoffCeiling } from '../commands/ports/backoff.js';
import type { GlobalLog, LogSubscription } from '../commands/ports/event-store.js';
import {
  type InspectionRequest,
  type InspectionRequestHandler,
  type InspectionRequestSource,
  inspectionRequestFrom,
} from './ports/request-source.js';
import type { SourceCheckpoint } from './ports/source-checkpoint.js';

export interface EmbeddedSourceOptions {
  /** Global position to start after; default: the checkpoint's, else 0 (safe: processing is idempotent). */
  readonly after?: number;
  /**
   * Saved once the requests of a batch, and of every batch before it, were all handled, so a
   * restart resumes there instead of re-checking every inspection ever requested.
   */
  readonly checkpoint?: SourceCheckpoint;
  readonly batchSize?: number;
  /**
   * Requests being handled at once, across delivered batches (default 16). The log is read on
   * while fewer are running, so a request that arrives while others are being inspected joins
   * them (and the detector's micro-batches) at once instead of waiting for them to finish.
   */
  readonly concurrency?: number;
  /** Batches without requests save the checkpoint at most this often (default 1 s). */
  readonly checkpointEveryMs?: number;
  /** Failures of a batch; the batch is handed over again after a backoff. */
  readonly onError?: (error: unknown) => void;
  /** Longest pause between attempts of a failing batch (default 5 s). */
  readonly maxBackoffMs?: number;
}

const CHECKPOINT_EVERY_MS = 1_000;
const DEFAULT_CONCURRENCY = 16;
const FIRST_BACKOFF_MS = 100;
const DEFAULT_MAX_BACKOFF_MS = 5_000;

/** A delivered batch with requests, while they are handled. */
interface Running {
  /** Position just before the batch: all a checkpoint may claim while the batch runs. */
  readonly before: number;
  /** The batch's last position. */
  readonly last: number;
  readonly done: Promise<void>;
  /** Set when the source stopped while the batch kept failing: it stays unhandled. */
  abandoned?: boolean;
}

/**
 * Embedded mode: InspectionRequested events from an in-process subscription to the global log.
 *
 * Batches are handed to the handler without waiting for the previous ones to finish (up to
 * `concurrency` requests at once): a request made while a batch is being inspected would
 * otherwise wait for that whole batch (image decoding, inference, recording) before it was even
 * read. The checkpoint only ever claims positions below every batch still running; a batch whose
 * handler fails is handed over again after a backoff, as the subscription would retry it, while
 * later ones go on (processing is idempotent and inspections are independent).
 */
export class EmbeddedInspectionSource implements InspectionRequestSource {
  private subscription: LogSubscription | undefined;
  private readonly running = new Set<Running>();
  private stopping = false;
  private readonly wakeRetries = new Set<() => void>();
  /** The checkpoint saves, one after another. */
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly log: GlobalLog,
    private readonly options: EmbeddedSourceOptions = {},
  ) {}

  async start(handler: InspectionRequestHandler): Promise<void> {
    if (this.subscription) throw new Error('the source is already started');
    this.stopping = false;
    this.running.clear();
    const onError = this.options.onError ?? (() => {});
    const checkpoint = this.options.checkpoint;
    const every = this.options.checkpointEveryMs ?? CHECKPOINT_EVERY_MS;
    const concurrency = Math.max(1, this.options.concurrency ?? DEFAULT_CONCURRENCY);
    const after = this.options.after ?? (await checkpoint?.load()) ?? 0;
    let delivered = after;
    let savedAt = 0;
    let saved = after;
    let inFlight = 0;
    /** Highest last position of a handled batch with requests: saved at its completion, no further. */
    let handledUpTo = after;
    const safePoint = () => {
      let safe = delivered;
      for (const run of this.running) safe = Math.min(safe, run.before);
      return safe;
    };
    // Saves never overlap (and a checkpoint never moves back anyway).
    const save = (position: number) => {
      if (!checkpoint || position <= saved) return this.saving;
      saved = position;
      savedAt = Date.now();
      this.saving = this.saving.then(() => checkpoint.save(position)).catch(onError);
      return this.saving;
    };

    /** Whether the requests were handled; false only when the source stopped while they kept failing. */
    const handleUntilDone = async (requests: readonly InspectionRequest[]): Promise<boolean> => {
      for (let attempt = 0; ; attempt++) {
        try {
          await handler(requests);
          return true;
        } catch (error) {
          onError(error);
          if (this.stopping) return false;
          const ms = backoffCeiling(attempt, FIRST_BACKOFF_MS, this.options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS);
          await new Promise<void>((resolve) => {
            const wake = () => {
              clearTimeout(timer);
              this.wakeRetries.delete(wake);
              resolve();
            };
            const timer = setTimeout(wake, ms);
            this.wakeRetries.add(wake);
          });
          if (this.stopping) return false;
        }
      }
    };

    this.subscription = this.log.subscribe({
      after,
      batchSize: this.options.batchSize ?? 64,
      name: 'inference-source',
      handle: async (batch) => {
        const last = batch.at(-1);
        if (!last) return;
        const requests = batch.flatMap((event) => {
          try {
            const request = inspectionRequestFrom(event);
            return request ? [request] : [];
          } catch (error) {
            // An undecodable event must not stall the subscription: report it and go on.
            onError(error);
            return [];
          }
        });
        const before = delivered;
        if (requests.length > 0) {
          // Back-pressure: read on only while there is room for this batch (one batch always fits).
          while (inFlight > 0 && inFlight + requests.length > concurrency) {
            await Promise.race([...this.running].map((r) => r.done));
          }
          inFlight += requests.length;
          let entry: Running | undefined;
          const done = handleUntilDone(requests).then((handled) => {
            inFlight -= requests.length;
            if (!handled) {
              // Stopped while failing: stays in `running`, so nothing after it is saved either
              // and the next start hands it over again.
              entry!.abandoned = true;
              return;
            }
            this.running.delete(entry!);
            handledUpTo = Math.max(handledUpTo, last.globalPosition);
            // Saved after every batch with requests, but never past a batch still running.
            return save(Math.min(safePoint(), handledUpTo));
          });
          entry = { before, last: last.globalPosition, done };
          this.running.add(entry);
        }
        delivered = last.globalPosition;
        // Past batches without requests (most of them) at most once per `checkpointEveryMs`: a
        // restart then re-reads a few events it ignores anyway, instead of a write per event.
        if (requests.length === 0 && Date.now() - savedAt >= every) await save(safePoint());
      },
      onError,
    });
  }

  /** Resolves once every event up to `position` has been handled (its requests inspected, the checkpoint saved). */
  async caughtUpTo(position: number): Promise<void> {
    if (!this.subscription) throw new Error('the source is not started');
    await this.subscription.caughtUpTo(position);
    for (;;) {
      const earlier = [...this.running].filter((r) => r.before < position && !r.abandoned);
      if (earlier.length === 0) break;
      await Promise.all(earlier.map((r) => r.done));
    }
    await this.saving;
  }

  /** Stops reading, then lets the requests being handled finish (a failing batch is not retried again). */
  async stop(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = undefined;
    await subscription?.stop();
    this.stopping = true;
    for (const wake of [...this.wakeRetries]) wake();
    await Promise.all([...this.running].map((r) => r.done));
    await this.saving;
  }
}
