import type { RateLimitDecision, RateLimiter } from '../../api/ports/rate-limiter.js';
import { checkRateLimitArguments } from './validate.js';

interface Log {
  /** Times of the hits still inside the window, oldest first. */
  hits: number[];
  windowMs: number;
}

/**
 * Sliding-window log in process memory (embedded mode, one process): exactly the semantics of the
 * Redis limiter. Only allowed hits are recorded, so a key holds at most `limit` timestamps.
 */
export class InMemoryRateLimiter implements RateLimiter {
  private readonly logs = new Map<string, Log>();
  private hitsSinceSweep = 0;

  constructor(private readonly clock: () => number = Date.now) {}

  async hit(key: string, limit: number, windowMs: number): Promise<RateLimitDecision> {
    checkRateLimitArguments(key, limit, windowMs);
    const now = this.clock();
    this.sweepNowAndThen(now);
    const log = this.logs.get(key) ?? { hits: [], windowMs };
    log.windowMs = windowMs;
    // A hit at t counts while now - t < windowMs.
    let expired = 0;
    while (expired < log.hits.length && log.hits[expired]! <= now - windowMs) expired++;
    if (expired > 0) log.hits.splice(0, expired);
    if (log.hits.length < limit) {
      log.hits.push(now);
      this.logs.set(key, log);
      return { allowed: true, limit, remaining: limit - log.hits.length, retryAfterMs: 0 };
    }
    this.logs.set(key, log);
    const oldest = log.hits[log.hits.length - limit]!;
    return { allowed: false, limit, remaining: 0, retryAfterMs: Math.max(1, oldest + windowMs - now) };
  }

  /** Keys nobody hit for a whole window are dropped, so memory follows the active keys only. */
  private sweepNowAndThen(now: number): void {
    if (++this.hitsSinceSweep < 1000) return;
    this.hitsSinceSweep = 0;
    for (const [key, log] of this.logs) {
      const newest = log.hits[log.hits.length - 1];
      if (newest === undefined || newest <= now - log.windowMs) this.logs.delete(key);
    }
  }
}
