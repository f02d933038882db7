import { afterAll, describe, expect, it } from 'vitest';
import { createRedisClient } from '../../infra/redis/client.js';
import { RedisRateLimiter } from '../../infra/redis/rate-limiter.js';
import { rateLimiterSuite } from './rate-limiter.suite.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from './support.js';

const redis = createRedisClient(TEST_REDIS_URL);
const keyPrefix = uniquePrefix('rl');

rateLimiterSuite('Redis sorted set + Lua', {
  create: (clock) => new RedisRateLimiter(redis, { keyPrefix, clock }),
});

describe('Redis rate limiter on the server clock', () => {
  afterAll(async () => {
    await deleteKeysWithPrefix(redis, keyPrefix);
    redis.disconnect();
  });

  it('limits by the Redis clock and lets the key expire with its window', async () => {
    const limiter = new RedisRateLimiter(redis, { keyPrefix });
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limiter.hit('server-clock', 3, 60_000));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(decisions[3]!.retryAfterMs).toBeGreaterThan(0);
    expect(decisions[3]!.retryAfterMs).toBeLessThanOrEqual(60_000);
    const ttl = await redis.pttl(`${keyPrefix}server-clock`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await redis.zcard(`${keyPrefix}server-clock`)).toBe(3);
  });

  it('reloads its script after Redis forgot it', async () => {
    await redis.script('FLUSH');
    const limiter = new RedisRateLimiter(redis, { keyPrefix });
    expect((await limiter.hit('after-flush', 1, 1000)).allowed).toBe(true);
  });
});
