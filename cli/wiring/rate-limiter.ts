import type { RateLimiter } from '../../api/ports/rate-limiter.js';
import { InMemoryRateLimiter } from '../../infra/rate-limit/in-memory.js';
import { createRedisClient } from '../../infra/redis/client.js';
import { RedisRateLimiter } from '../../infra/redis/rate-limiter.js';
import type { Runtime } from '../runtime.js';

/** Redis sliding window shared by every API replica when REDIS_URL is set; in-process otherwise. */
export function openRateLimiter(runtime: Runtime): RateLimiter {
  if (!runtime.config.REDIS_URL) return new InMemoryRateLimiter();
  const redis = createRedisClient(runtime.config.REDIS_URL);
  runtime.onClose(async () => {
    await redis.quit();
  });
  return new RedisRateLimiter(redis);
}
