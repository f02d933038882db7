import type { GlobalLog, LogSubscription } from '../commands/ports/event-store.js';
import {
  type InspectionRequestHandler,
  type InspectionRequestSource,
  inspectionRequestFrom,
} from './ports/request-source.js';
import type { SourceCheckpoint } from './ports/source-checkpoint.js';

export interface EmbeddedSourceOptions {
  /** Global position to start after; default: the checkpoint's, else 0 (safe: processing is idempotent). */
  readonly after?: number;
  /**
   * Saved after each batch whose requests were all handled, so a restart resumes there instead of
   * re-checking every inspection ever requested.
   */
  readonly checkpoint?: SourceCheckpoint;
  readonly batchSize?: number;
  /** Batches without requests save the checkpoint at most this often (default 1 s). */
  readonly checkpointEveryMs?: number;
  /** Failures of a batch; the subscription retries the batch after a backoff. */
  readonly onError?: (error: unknown) => void;
}

const CHECKPOINT_EVERY_MS = 1_000;

/** Embedded mode: InspectionRequested events from an in-process subscription to the global log. */
export class EmbeddedInspectionSource implements InspectionRequestSource {
  private subscription: LogSubscription | undefined;

  constructor(
    private readonly log: GlobalLog,
    private readonly options: EmbeddedSourceOptions = {},
  ) {}

  async start(handler: InspectionRequestHandler): Promise<void> {
    if (this.subscription) throw new Error('the source is already started');
    const onError = this.options.onError ?? (() => {});
    const checkpoint = this.options.checkpoint;
    let savedAt = 0;
    const every = this.options.checkpointEveryMs ?? CHECKPOINT_EVERY_MS;
    this.subscription = this.log.subscribe({
      after: this.options.after ?? (await checkpoint?.load()) ?? 0,
      batchSize: this.options.batchSize ?? 64,
      name: 'inference-source',
      handle: async (batch) => {
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
        if (requests.length > 0) await handler(requests);
        const last = batch.at(-1);
        // Saved after every batch that held requests; past batches without any (most of them) at
        // most once per `checkpointEveryMs`: a restart then re-reads a few events it ignores
        // anyway, instead of a write per event appended.
        if (checkpoint && last && (requests.length > 0 || Date.now() - savedAt >= every)) {
          await checkpoint.save(last.globalPosition);
          savedAt = Date.now();
        }
      },
      onError,
    });
  }

  /** Resolves once every event up to `position` has been handled. */
  async caughtUpTo(position: number): Promise<void> {
    if (!this.subscription) throw new Error('the source is not started');
    await this.subscription.caughtUpTo(position);
  }

  async stop(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = undefined;
    await subscription?.stop();
  }
}
