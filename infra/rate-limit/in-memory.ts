import type { RateLimitDecision, RateLimiter } from '../../api/ports/rate-limiter.js';
import { checkRateLimitArguments } from './validate.js';

interface Log {
  /** Times of the allowed hits, oldest first; those before `head` have left the window. */
  hits: number[];
  head: number;
  windowMs: number;
}

/** Expired hits are skipped by moving `head`; the array is cut only when most of it is behind it. */
const COMPACT_AFTER = 1024;

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
    const log = this.logs.get(key) ?? { hits: [], head: 0, windowMs };
    log.windowMs = windowMs;
    // A hit at t counts while now - t < windowMs. Amortised O(1) per hit: a splice from the front
    // would move every hit still in the window (a whole minute of them under load).
    while (log.head < log.hits.length && log.hits[log.head]! <= now - windowMs) log.head++;
    if (log.head >= COMPACT_AFTER && log.head * 2 >= log.hits.length) {
      log.hits = log.hits.slice(log.head);
      log.head = 0;
    }
    const inWindow = log.hits.length - log.head;
    if (inWindow < limit) {
      log.hits.push(now);
      this.logs.set(key, log);
      return { allowed: true, limit, remaining: limit - inWindow - 1, retryAfterMs: 0 };
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
