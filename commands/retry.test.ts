import { describe, expect, it } from 'vitest';
import { ConcurrencyError } from './ports/event-store.js';
import { retryOnConflict } from './retry.js';

const policy = (random: number, maxRetries = 3) => {
  const slept: number[] = [];
  return {
    slept,
    policy: {
      maxRetries,
      baseDelayMs: 10,
      maxDelayMs: 50,
      random: () => random,
      sleep: async (ms: number) => void slept.push(ms),
    },
  };
};
const conflict = () => new ConcurrencyError('file-f', 1, 2);

describe('retryOnConflict', () => {
  it('retries conflicts with capped exponential full jitter, then gives up', async () => {
    const { slept, policy: p } = policy(0.999);
    let attempts = 0;
    await expect(
      retryOnConflict(p, async () => {
        attempts++;
        throw conflict();
      }),
    ).rejects.toBeInstanceOf(ConcurrencyError);
    expect(attempts).toBe(4);
    expect(slept).toEqual([9, 19, 39]);
    const capped = policy(0.999, 5);
    await expect(retryOnConflict(capped.policy, async () => Promise.reject(conflict()))).rejects.toThrow();
    expect(capped.slept).toEqual([9, 19, 39, 49, 49]);
  });

  it('returns the first success and never retries other errors', async () => {
    const { slept, policy: p } = policy(0.5);
    let attempts = 0;
    expect(
      await retryOnConflict(p, async (n) => {
        attempts++;
        if (n < 2) throw conflict();
        return 'done';
      }),
    ).toBe('done');
    expect(attempts).toBe(3);
    expect(slept).toEqual([5, 10]);
    let other = 0;
    await expect(
      retryOnConflict(p, async () => {
        other++;
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(other).toBe(1);
  });
});
