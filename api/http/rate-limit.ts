import type { NextFunction, Request, Response } from 'express';
import type { RateLimiter } from '../ports/rate-limiter.js';
import { contextOf } from './context.js';
import { HttpProblem } from './problem.js';

export interface RateLimitPolicy {
  readonly authenticated: number;
  readonly anonymous: number;
  readonly windowMs: number;
}

/**
 * Sliding-window limit per principal, or per client IP for anonymous calls (token exchange
 * included, which slows key guessing). Advertises the draft IETF RateLimit-* headers.
 */
export function rateLimit(limiter: RateLimiter, policy: RateLimitPolicy) {
  const windowSeconds = Math.ceil(policy.windowMs / 1000);
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const principal = contextOf(res).principal;
    const key = principal ? `principal:${principal.userId}` : `ip:${req.ip ?? 'unknown'}`;
    const limit = principal ? policy.authenticated : policy.anonymous;
    const decision = await limiter.hit(key, limit, policy.windowMs);
    const resetSeconds = Math.ceil(decision.retryAfterMs / 1000);
    res.setHeader('RateLimit-Policy', `${limit};w=${windowSeconds}`);
    res.setHeader('RateLimit-Limit', String(decision.limit));
    res.setHeader('RateLimit-Remaining', String(Math.max(0, decision.remaining)));
    res.setHeader('RateLimit-Reset', String(resetSeconds));
    if (decision.allowed) return next();
    next(
      new HttpProblem({
        status: 429,
        slug: 'rate-limited',
        title: 'Too many requests',
        detail: `at most ${limit} requests per ${windowSeconds}s; retry in ${Math.max(1, resetSeconds)}s`,
        headers: { 'Retry-After': String(Math.max(1, resetSeconds)) },
      }),
    );
  };
}
