import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { RateLimitDecision, RateLimiter } from '../../api/ports/rate-limiter.js';
import { checkRateLimitArguments } from '../rate-limit/validate.js';

const SCRIPT = readFileSync(new URL('./sliding-window.lua', import.meta.url), 'utf8');
const SCRIPT_SHA = createHash('sha1').update(SCRIPT).digest('hex');

export interface RedisRateLimiterOptions {
  /** Prepended to every key; default `chitti:rl:`. */
  readonly keyPrefix?: string;
  /** Milliseconds clock; default: the Redis server's clock, shared by every API replica. */
  readonly clock?: () => number;
}

/**
 * Exact sliding window across API replicas: a Lua script over one sorted set per key prunes hits
 * older than the window, counts, and records the hit only when allowed, all atomically (Redis runs
 * a script alone). Chosen over the two-counter approximation because limits here are small
 * (hundreds per minute): the log costs at most `limit` entries per key and is exact at window
 * edges, where the approximation lets bursts of up to 2x through. Denied hits are not recorded, so
 * a client hammering a closed window cannot extend its own ban.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly keyPrefix: string;

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisRateLimiterOptions = {},
  ) {
    this.keyPrefix = options.keyPrefix ?? 'chitti:rl:';
  }

  async hit(key: string, limit: number, windowMs: number): Promise<RateLimitDecision> {
    checkRateLimitArguments(key, limit, windowMs);
    const now = this.options.clock ? String(this.options.clock()) : '';
    const member = `${now || Date.now()}-${randomBytes(6).toString('hex')}`;
    const args = [this.keyPrefix + key, now, String(windowMs), String(limit), member];
    let reply: unknown;
    try {
      reply = await this.redis.evalsha(SCRIPT_SHA, 1, ...args);
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      reply = await this.redis.eval(SCRIPT, 1, ...args);
    }
    const [allowed, remaining, retryAfterMs] = reply as [number, number, number];
    return { allowed: allowed === 1, limit, remaining, retryAfterMs };
  }
}
