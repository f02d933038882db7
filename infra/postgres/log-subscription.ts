import { backoffCeiling } from '../../commands/ports/backoff.js';
import type { LogSubscription, SubscriptionState, SubscriptionStatus } from '../../commands/ports/event-store.js';
import { isDependencyUnavailable } from '../../commands/ports/unavailable.js';
import type { RecordedEvent } from '../../schemas/events/index.js';

export interface WakeSource {
  /** Resolves at the next sign of new events (or of the database being back), or after timeoutMs at the latest. */
  wait(timeoutMs: number): { promise: Promise<void>; cancel: () => void };
}

export interface SubscriptionOptions {
  readonly name: string;
  readonly after: number;
  readonly batchSize: number;
  readonly handle: (batch: readonly RecordedEvent[]) => Promise<void>;
  /**
   * Called with each failure; the same batch is retried after a backoff. Without it, failures
   * other than an unavailable database end the subscription.
   */
  readonly onError?: (error: unknown) => void;
  /** How long to sleep when caught up and no notification arrives: a safety net, not the wake-up path. */
  readonly safetyPollMs: number;
  /** Longest pause between two attempts while failing (the wake source cuts it short when the database is back). */
  readonly maxBackoffMs: number;
}

interface Waiter {
  readonly position: number;
  readonly failFast: boolean;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Catch-up then live: reads batches after the checkpoint until the log is exhausted, then sleeps
 * until woken. Correct only over a log whose readers never see position p before every lower
 * committed position, which the Postgres store guarantees.
 *
 * A database outage never ends it: it retries the same batch with capped backoff, resumes from
 * its checkpoint when the database answers again, and reports `retrying` meanwhile so readiness
 * can say so.
 */
export function startLogSubscription(
  readAll: (after: number, maxCount: number) => Promise<RecordedEvent[]>,
  wakeSource: WakeSource,
  options: SubscriptionOptions,
): LogSubscription {
  let checkpoint = options.after;
  let state: SubscriptionState = 'running';
  let failures = 0;
  let lastError: unknown;
  let cancelWait: (() => void) | undefined;
  const waiters: Waiter[] = [];
  // Read through a call: stop() changes the state while the loop awaits, which narrowing cannot see.
  const current = (): SubscriptionState => state;

  const settleWaiters = (failure?: unknown) => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i]!;
      if (checkpoint >= waiter.position) waiter.resolve();
      else if (state === 'failed') waiter.reject(lastError);
      else if (state === 'stopped')
        waiter.reject(new Error(`subscription stopped at ${checkpoint} before ${waiter.position}`));
      else if (failure !== undefined && waiter.failFast) waiter.reject(failure);
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
    while (state === 'running' || state === 'retrying') {
      try {
        // Take the wake-up ticket before reading, so a commit between the read and the sleep still wakes us.
        const wake = wakeSource.wait(options.safetyPollMs);
        const batch = await readAll(checkpoint, options.batchSize);
        if (batch.length > 0) {
          wake.cancel();
          await options.handle(batch);
          checkpoint = batch[batch.length - 1]!.globalPosition;
        }
        if (current() === 'retrying') state = 'running';
        failures = 0;
        lastError = undefined;
        settleWaiters();
        if (batch.length > 0) continue;
        if (current() !== 'running') {
          wake.cancel();
          break;
        }
        cancelWait = wake.cancel;
        await wake.promise;
        cancelWait = undefined;
      } catch (error) {
        if (current() === 'stopped') break;
        lastError = error;
        if (!options.onError && !isDependencyUnavailable(error)) {
          state = 'failed';
          break;
        }
        options.onError?.(error);
        state = 'retrying';
        failures++;
        settleWaiters(error);
        await sleep(backoffCeiling(failures, 50, options.maxBackoffMs));
      }
    }
    settleWaiters();
  };

  const running = loop();

  return {
    async stop() {
      if (state !== 'failed') state = 'stopped';
      cancelWait?.();
      await running;
    },
    caughtUpTo(position: number, waitOptions?: { failFast?: boolean }) {
      return new Promise<void>((resolve, reject) => {
        if (waitOptions?.failFast && state === 'retrying' && checkpoint < position) return reject(lastError);
        waiters.push({ position, failFast: waitOptions?.failFast === true, resolve, reject });
        settleWaiters();
      });
    },
    status(): SubscriptionStatus {
      return {
        name: options.name,
        state,
        checkpoint,
        failures,
        ...(lastError !== undefined ? { lastError } : {}),
      };
    },
  };
}
