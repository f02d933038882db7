import { backoffCeiling, fullJitter } from './ports/backoff.js';
import { ConcurrencyError } from './ports/event-store.js';

export interface RetryPolicy {
  /** Further attempts after the first one fails with a ConcurrencyError. */
  readonly maxRetries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Uniform [0, 1); the jitter source. */
  readonly random: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxRetries: 3,
  baseDelayMs: 5,
  maxDelayMs: 100,
  random: Math.random,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * For commutative commands (tags, reviews, role grants): their decision does not depend on which
 * other writes came first, so a conflict only means "someone else got in": they are retried until
 * they land or the fresh state rejects them. Each round at least one competing writer commits, so
 * the bound is a backstop, far above any realistic number of writers of one stream at once.
 */
export const COMMUTATIVE_RETRY_POLICY: Omit<RetryPolicy, 'random' | 'sleep'> = {
  maxRetries: 200,
  baseDelayMs: 5,
  maxDelayMs: 200,
};

/**
 * Runs `attempt` again after a ConcurrencyError, up to `maxRetries` more times, waiting a
 * "full jitter" delay (uniform in [0, base * 2^n], capped) so competing writers spread out.
 * Safe only when each attempt re-reads the state and re-decides; any other error ends at once.
 */
export async function retryOnConflict<T>(policy: RetryPolicy, attempt: (n: number) => Promise<T>): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (!(error instanceof ConcurrencyError) || n >= policy.maxRetries) throw error;
      await policy.sleep(fullJitter(backoffCeiling(n, policy.baseDelayMs, policy.maxDelayMs), policy.random));
    }
  }
}
