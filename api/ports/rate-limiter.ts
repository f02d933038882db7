export interface RateLimitDecision {
  readonly allowed: boolean;
  readonly limit: number;
  readonly remaining: number;
  /** Milliseconds until a request would be allowed again (0 when allowed). */
  readonly retryAfterMs: number;
}

/** The limits every limiter takes; beyond them `hit` throws. Configuration is checked against them at start. */
export const RATE_LIMIT_BOUNDS = { maxLimit: 1_000_000, maxWindowMs: 86_400_000 } as const;

/** Why these limits (hits per window) or the window are not what every limiter takes; undefined when they are. */
export function rateLimitProblem(limits: Readonly<Record<string, number>>, windowMs: number): string | undefined {
  for (const [name, limit] of Object.entries(limits)) {
    if (!Number.isInteger(limit) || limit < 1 || limit > RATE_LIMIT_BOUNDS.maxLimit) {
      return `${name} must be an integer in 1..${RATE_LIMIT_BOUNDS.maxLimit}, got ${limit}`;
    }
  }
  if (!Number.isInteger(windowMs) || windowMs < 1 || windowMs > RATE_LIMIT_BOUNDS.maxWindowMs) {
    return `windowMs must be an integer in 1..${RATE_LIMIT_BOUNDS.maxWindowMs}, got ${windowMs}`;
  }
  return undefined;
}

/** Sliding-window limiter: at most `limit` hits per key in any `windowMs`. */
export interface RateLimiter {
  hit(key: string, limit: number, windowMs: number): Promise<RateLimitDecision>;
}
