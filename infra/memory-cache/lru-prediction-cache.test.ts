import { describe, expect, it } from 'vitest';
import { LruPredictionCache } from './lru-prediction-cache.js';

describe('LruPredictionCache', () => {
  it('returns what was set until it expires', async () => {
    let now = 1_000;
    const cache = new LruPredictionCache<{ n: number }>({ now: () => now });
    await cache.set('a', { n: 1 }, 10);
    expect(await cache.get('a')).toEqual({ n: 1 });
    now += 9_999;
    expect(await cache.get('a')).toEqual({ n: 1 });
    now += 1;
    expect(await cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('evicts the least recently used entry beyond maxEntries', async () => {
    const cache = new LruPredictionCache<number>({ maxEntries: 2 });
    await cache.set('a', 1, 60);
    await cache.set('b', 2, 60);
    await cache.get('a'); // a is now the most recent
    await cache.set('c', 3, 60);
    expect(await cache.get('b')).toBeUndefined();
    expect(await cache.get('a')).toBe(1);
    expect(await cache.get('c')).toBe(3);
  });

  it('stores nothing for a non-positive ttl and refuses a zero capacity', async () => {
    const cache = new LruPredictionCache<number>();
    await cache.set('a', 1, 0);
    expect(await cache.get('a')).toBeUndefined();
    expect(() => new LruPredictionCache({ maxEntries: 0 })).toThrow(RangeError);
  });
});
