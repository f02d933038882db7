import type { LogSubscription } from '../../projections/ports.js';
import type { RecordedEvent } from '../../schemas/events/index.js';

export interface WakeSource {
  /** Resolves at the next sign of new events, or after timeoutMs at the latest. */
  wait(timeoutMs: number): { promise: Promise<void>; cancel: () => void };
}

export interface SubscriptionOptions {
  readonly after: number;
  readonly batchSize: number;
  readonly handle: (batch: readonly RecordedEvent[]) => Promise<void>;
  /** Called with each failure; the same batch is retried after a backoff. Without it, the first failure ends the subscription. */
  readonly onError?: (error: unknown) => void;
  /** How long to sleep when caught up and no notification arrives: a safety net, not the wake-up path. */
  readonly safetyPollMs: number;
}

/**
 * Catch-up then live: reads batches after the checkpoint until the log is exhausted, then sleeps
 * until woken. Correct only over a log whose readers never see position p before every lower
 * committed position, which the Postgres store guarantees.
 */
export function startLogSubscription(
  readAll: (after: number, maxCount: number) => Promise<RecordedEvent[]>,
  wakeSource: WakeSource,
  options: SubscriptionOptions,
): LogSubscription {
  let checkpoint = options.after;
  let stopped = false;
  let failure: unknown;
  let cancelWait: (() => void) | undefined;
  const waiters: { position: number; resolve: () => void; reject: (error: unknown) => void }[] = [];

  const settleWaiters = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i]!;
      if (failure !== undefined) waiter.reject(failure);
      else if (checkpoint >= waiter.position) waiter.resolve();
      else if (stopped) waiter.reject(new Error(`subscription stopped at ${checkpoint} before ${waiter.position}`));
      else continue;
      waiters.splice(i, 1);
    }
  };

  const sleep = async (ms: number) => {
    const wait = wakeSource.wait(ms);
    cancelWait = wait.cancel;
    await wait.promise;
    cancelWait = undefined;
  };

  const loop = async () => {
    let failures = 0;
    while (!stopped) {
      try {
        // Take the wake-up ticket before reading, so a commit between the read and the sleep still wakes us.
        const wake = wakeSource.wait(options.safetyPollMs);
        const batch = await readAll(checkpoint, options.batchSize);
        if (batch.length > 0) {
          wake.cancel();
          await options.handle(batch);
          checkpoint = batch[batch.length - 1]!.globalPosition;
          failures = 0;
          settleWaiters();
          continue;
        }
        settleWaiters();
        if (stopped) {
          wake.cancel();
          break;
        }
        cancelWait = wake.cancel;
        await wake.promise;
        cancelWait = undefined;
      } catch (error) {
        if (!options.onError) {
          failure = error;
          stopped = true;
          break;
        }
        options.onError(error);
        failures++;
        if (!stopped) await sleep(Math.min(30_000, 50 * 2 ** Math.min(failures, 10)));
      }
    }
    settleWaiters();
  };

  const running = loop();

  return {
    async stop() {
      stopped = true;
      cancelWait?.();
      await running;
    },
    caughtUpTo(position: number) {
      return new Promise<void>((resolve, reject) => {
        waiters.push({ position, resolve, reject });
        settleWaiters();
      });
    },
  };
}
