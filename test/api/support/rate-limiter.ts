import type { RateLimitDecision, RateLimiter } from '../../../api/ports/rate-limiter.js';

/** Sliding-window log per key, in process (until infra/rate-limit/in-memory.ts lands). */
export class InMemoryRateLimiter implements RateLimiter {
  private readonly hits = new Map<string, number[]>();

  async hit(key: string, limit: number, windowMs: number): Promise<RateLimitDecision> {
    const now = Date.now();
    const recent = (this.hits.get(key) ?? []).filter((t) => t > now - windowMs);
    if (recent.length >= limit) {
      this.hits.set(key, recent);
      return { allowed: false, limit, remaining: 0, retryAfterMs: recent[0]! + windowMs - now };
    }
    recent.push(now);
    this.hits.set(key, recent);
    return { allowed: true, limit, remaining: limit - recent.length, retryAfterMs: 0 };
  }
}
