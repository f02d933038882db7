export interface BatcherOptions {
  /** Largest batch handed to `run`. */
  readonly maxBatch: number;
  /** Longest an item waits for companions once it is first in the queue. */
  readonly maxWaitMs: number;
  /** Batches running at once (default 2: the next batch is assembled while one computes). */
  readonly maxInFlight?: number;
}

export interface Batched<R> {
  readonly result: R;
  /** From submit to the batch being handed to `run`. */
  readonly queueMs: number;
  readonly batchSize: number;
}

export class BatcherClosedError extends Error {
  readonly code = 'batcher-closed';
}

interface Waiting<I, R> {
  readonly item: I;
  readonly enqueuedAt: number;
  readonly resolve: (value: Batched<R>) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Dynamic batching: items are gathered until `maxBatch` are waiting or the oldest has waited
 * `maxWaitMs`, whichever comes first. While `maxInFlight` batches are running, items keep
 * gathering, so under load batches grow by themselves. `run` gets the items in submit order and
 * must return one result per item, in the same order.
 */
export class MicroBatcher<I, R> {
  private readonly queue: Waiting<I, R>[] = [];
  private readonly maxInFlight: number;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    private readonly options: BatcherOptions,
    private readonly run: (items: I[]) => Promise<R[]>,
  ) {
    if (!Number.isInteger(options.maxBatch) || options.maxBatch < 1) throw new RangeError('maxBatch must be >= 1');
    if (!(options.maxWaitMs >= 0)) throw new RangeError('maxWaitMs must be >= 0');
    this.maxInFlight = options.maxInFlight ?? 2;
    if (!Number.isInteger(this.maxInFlight) || this.maxInFlight < 1) throw new RangeError('maxInFlight must be >= 1');
  }

  get pending(): number {
    return this.queue.length;
  }

  submit(item: I): Promise<Batched<R>> {
    if (this.closed) return Promise.reject(new BatcherClosedError('the batcher is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ item, enqueuedAt: performance.now(), resolve, reject });
      this.schedule();
    });
  }

  /** Stops accepting items, runs what is queued without waiting, resolves when all batches are done. */
  async close(): Promise<void> {
    this.closed = true;
    this.schedule();
    if (this.queue.length === 0 && this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const waited = performance.now() - this.queue[0]!.enqueuedAt;
      if (this.queue.length >= this.options.maxBatch || waited >= this.options.maxWaitMs || this.closed) {
        this.dispatch(this.queue.splice(0, this.options.maxBatch));
        continue;
      }
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, this.options.maxWaitMs - waited);
      return;
    }
    if (this.queue.length === 0 && this.inFlight === 0) for (const done of this.idleWaiters.splice(0)) done();
  }

  private dispatch(batch: Waiting<I, R>[]): void {
    this.inFlight++;
    const startedAt = performance.now();
    const settle = (fn: () => void) => {
      fn();
      this.inFlight--;
      this.schedule();
    };
    Promise.resolve()
      .then(() => this.run(batch.map((w) => w.item)))
      .then(
        (results) =>
          settle(() => {
            if (results.length !== batch.length) {
              const error = new Error(`batch of ${batch.length} returned ${results.length} results`);
              for (const w of batch) w.reject(error);
              return;
            }
            for (const [i, w] of batch.entries()) {
              w.resolve({ result: results[i]!, queueMs: startedAt - w.enqueuedAt, batchSize: batch.length });
            }
          }),
        (error: unknown) =>
          settle(() => {
            for (const w of batch) w.reject(error);
          }),
      );
  }
}
