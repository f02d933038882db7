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
 * Sliding-window limits, advertised with the draft IETF RateLimit-* headers:
 * - `byCaller`: per principal once a token verified, else per client address (anonymous calls,
 *   token exchange included, which slows key guessing);
 * - `failedAuthentication`: an error handler right after authentication, so a request whose token
 *   is missing its scheme, forged, expired or revoked spends its address's anonymous budget before
 *   it gets its 401; floods of bad tokens are limited like anonymous ones;
 * - `perAddress(bucket)`: the anonymous limit per address in a bucket of its own (readiness probes,
 *   which must not be starved by, or starve, the API budget of the same address).
 */
export function rateLimits(limiter: RateLimiter, policy: RateLimitPolicy) {
  const windowSeconds = Math.ceil(policy.windowMs / 1000);
  const addressOf = (req: Request) => req.ip ?? 'unknown';

  async function spend(res: Response, key: string, limit: number): Promise<HttpProblem | undefined> {
    const decision = await limiter.hit(key, limit, policy.windowMs);
    const resetSeconds = Math.ceil(decision.retryAfterMs / 1000);
    res.setHeader('RateLimit-Policy', `${limit};w=${windowSeconds}`);
    res.setHeader('RateLimit-Limit', String(decision.limit));
    res.setHeader('RateLimit-Remaining', String(Math.max(0, decision.remaining)));
    res.setHeader('RateLimit-Reset', String(resetSeconds));
    if (decision.allowed) return undefined;
    return new HttpProblem({
      status: 429,
      slug: 'rate-limited',
      title: 'Too many requests',
      detail: `at most ${limit} requests per ${windowSeconds}s; retry in ${Math.max(1, resetSeconds)}s`,
      headers: { 'Retry-After': String(Math.max(1, resetSeconds)) },
    });
  }

  return {
    byCaller: async (req: Request, res: Response, next: NextFunction): Promise<void> => {
      const principal = contextOf(res).principal;
      const limited = principal
        ? await spend(res, `principal:${principal.userId}`, policy.authenticated)
        : await spend(res, `ip:${addressOf(req)}`, policy.anonymous);
      next(limited);
    },
    failedAuthentication: async (error: unknown, req: Request, res: Response, next: NextFunction): Promise<void> => {
      next((await spend(res, `ip:${addressOf(req)}`, policy.anonymous)) ?? error);
    },
    perAddress:
      (bucket: string) =>
      async (req: Request, res: Response, next: NextFunction): Promise<void> => {
        next(await spend(res, `${bucket}:${addressOf(req)}`, policy.anonymous));
      },
  };
}
