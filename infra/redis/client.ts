import { Redis } from 'ioredis';

/**
 * A client for REDIS_URL that gives up on a request after a couple of reconnect attempts instead
 * of waiting for ever when Redis is away.
 */
export function createRedisClient(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 2 });
}
