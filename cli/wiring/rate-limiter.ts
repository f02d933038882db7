import type { RateLimiter } from '../../api/ports/rate-limiter.js';
import { InMemoryRateLimiter } from '../../infra/rate-limit/in-memory.js';
import { RedisRateLimiter } from '../../infra/redis/rate-limiter.js';
import type { Runtime } from '../runtime.js';
import { redisOf } from './redis.js';

/** Redis sliding window shared by every API replica when REDIS_URL is set; in-process otherwise. */
export function openRateLimiter(runtime: Runtime): RateLimiter {
  if (!runtime.config.REDIS_URL) return new InMemoryRateLimiter();
  return new RedisRateLimiter(redisOf(runtime, runtime.config.REDIS_URL));
}
