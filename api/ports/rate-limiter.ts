export interface RateLimitDecision {
  readonly allowed: boolean;
  readonly limit: number;
  readonly remaining: number;
  /** Milliseconds until a request would be allowed again (0 when allowed). */
  readonly retryAfterMs: number;
}

/** Sliding-window limiter: at most `limit` hits per key in any `windowMs`. */
export interface RateLimiter {
  hit(key: string, limit: number, windowMs: number): Promise<RateLimitDecision>;
}
