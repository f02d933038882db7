import { afterAll, describe, expect, it } from 'vitest';
import { createRedisClient } from '../../infra/redis/client.js';
import { RedisPredictionCache } from '../../infra/redis/prediction-cache.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from './support.js';

interface Prediction {
  boxes: { className: string; score: number }[];
  modelSha256: string;
}

describe('Redis prediction cache', () => {
  const redis = createRedisClient(TEST_REDIS_URL);
  const keyPrefix = uniquePrefix('pred');
  const cache = new RedisPredictionCache<Prediction>(redis, { keyPrefix });

  afterAll(async () => {
    await deleteKeysWithPrefix(redis, keyPrefix);
    redis.disconnect();
  });

  it('returns what was stored, and undefined for a miss', async () => {
    const value = { boxes: [{ className: 'crack', score: 0.9 }], modelSha256: 'ab'.repeat(32) };
    await cache.set('blob1:model1', value, 60);
    expect(await cache.get('blob1:model1')).toEqual(value);
    expect(await cache.get('blob2:model1')).toBeUndefined();
  });

  it('stores with the TTL asked for', async () => {
    await cache.set('ttl', { boxes: [], modelSha256: 'x' }, 30);
    const ttl = await redis.pttl(`${keyPrefix}ttl`);
    expect(ttl).toBeGreaterThan(25_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
    await expect(cache.set('ttl', { boxes: [], modelSha256: 'x' }, 0)).rejects.toBeInstanceOf(RangeError);
  });

  it('treats a value it cannot parse as a miss and reports it', async () => {
    const errors: string[] = [];
    const reporting = new RedisPredictionCache<Prediction>(redis, { keyPrefix, onError: (_e, op) => errors.push(op) });
    await redis.set(`${keyPrefix}garbage`, '{not json');
    expect(await reporting.get('garbage')).toBeUndefined();
    expect(errors).toEqual(['get']);
  });

  it('degrades to a miss when Redis cannot be reached', async () => {
    // Nothing listens on port 1 of loopback.
    const away = createRedisClient('redis://127.0.0.1:1');
    away.on('error', () => {});
    const errors: string[] = [];
    const unreachable = new RedisPredictionCache<Prediction>(away, { keyPrefix, onError: (_e, op) => errors.push(op) });
    expect(await unreachable.get('anything')).toBeUndefined();
    await unreachable.set('anything', { boxes: [], modelSha256: 'x' }, 10);
    expect(errors).toEqual(['get', 'set']);
    away.disconnect();
  });
});
