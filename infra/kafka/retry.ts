import { backoffCeiling, equalJitter } from '../../commands/ports/backoff.js';

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** Exponential backoff with jitter: attempt n waits between half and all of min(maxMs, initialMs * 2^(n-1)). */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  return equalJitter(backoffCeiling(attempt - 1, policy.initialMs, policy.maxMs), random);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
