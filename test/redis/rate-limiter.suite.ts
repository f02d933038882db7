/** One suite for every RateLimiter: the Redis one (distributed) and the in-memory one (embedded). */
import { afterAll, describe, expect, it } from 'vitest';
import type { RateLimiter } from '../../api/ports/rate-limiter.js';
import { InvalidRateLimitError } from '../../infra/rate-limit/validate.js';
import { ManualClock } from './support.js';

export interface RateLimiterFactory {
  create(clock: () => number): RateLimiter;
  dispose?(): Promise<void>;
}

export function rateLimiterSuite(name: string, factory: RateLimiterFactory): void {
  describe(`rate limiter: ${name}`, () => {
    afterAll(async () => {
      await factory.dispose?.();
    });

    it('allows `limit` hits in a window, then denies until the oldest hit leaves it', async () => {
      const clock = new ManualClock();
      const limiter = factory.create(clock.read);
      const decisions = [];
      for (let i = 0; i < 4; i++) decisions.push(await limiter.hit('k', 3, 1000));
      expect(decisions.map((d) => [d.allowed, d.remaining])).toEqual([
        [true, 2],
        [true, 1],
        [true, 0],
        [false, 0],
      ]);
      expect(decisions[3]).toMatchObject({ limit: 3, retryAfterMs: 1000 });
      expect(decisions[0]!.retryAfterMs).toBe(0);
    });

    it('slides: each hit frees its slot exactly one window later', async () => {
      const clock = new ManualClock();
      const limiter = factory.create(clock.read);
      for (const at of [0, 400, 800]) {
        clock.now = 1_000_000 + at;
        expect((await limiter.hit('slide', 3, 1000)).allowed).toBe(true);
      }
      clock.now = 1_000_000 + 999;
      expect(await limiter.hit('slide', 3, 1000)).toMatchObject({ allowed: false, retryAfterMs: 1 });
      clock.now = 1_000_000 + 1000;
      expect(await limiter.hit('slide', 3, 1000)).toMatchObject({ allowed: true, remaining: 0 });
      clock.now = 1_000_000 + 1001;
      expect(await limiter.hit('slide', 3, 1000)).toMatchObject({ allowed: false, retryAfterMs: 399 });
    });

    it('does not count denied hits: hammering a full window does not extend it', async () => {
      const clock = new ManualClock();
      const limiter = factory.create(clock.read);
      await limiter.hit('hammer', 2, 1000);
      await limiter.hit('hammer', 2, 1000);
      for (let i = 0; i < 20; i++) {
        clock.now += 10;
        expect((await limiter.hit('hammer', 2, 1000)).allowed).toBe(false);
      }
      clock.now = 1_000_000 + 1000;
      expect((await limiter.hit('hammer', 2, 1000)).allowed).toBe(true);
      expect((await limiter.hit('hammer', 2, 1000)).allowed).toBe(true);
      expect((await limiter.hit('hammer', 2, 1000)).allowed).toBe(false);
    });

    it('keeps keys apart', async () => {
      const limiter = factory.create(new ManualClock().read);
      expect((await limiter.hit('user-a', 1, 1000)).allowed).toBe(true);
      expect((await limiter.hit('user-a', 1, 1000)).allowed).toBe(false);
      expect((await limiter.hit('user-b', 1, 1000)).allowed).toBe(true);
    });

    it('allows exactly `limit` of many concurrent hits (atomic check-and-record)', async () => {
      const limiter = factory.create(new ManualClock().read);
      const decisions = await Promise.all(Array.from({ length: 60 }, () => limiter.hit('burst', 10, 60_000)));
      expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
      const remaining = decisions.filter((d) => d.allowed).map((d) => d.remaining);
      expect(remaining.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    it('refuses nonsense limits with a typed error', async () => {
      const limiter = factory.create(new ManualClock().read);
      await expect(limiter.hit('k', 0, 1000)).rejects.toBeInstanceOf(InvalidRateLimitError);
      await expect(limiter.hit('k', 1.5, 1000)).rejects.toBeInstanceOf(InvalidRateLimitError);
      await expect(limiter.hit('k', 5, 0)).rejects.toBeInstanceOf(InvalidRateLimitError);
      await expect(limiter.hit('', 5, 10)).rejects.toBeInstanceOf(InvalidRateLimitError);
    });
  });
}
