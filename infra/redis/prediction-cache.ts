import type { Redis } from 'ioredis';
import type { PredictionCache } from '../../inference/ports/prediction-cache.js';

export interface RedisPredictionCacheOptions {
  /** Prepended to every key; default `chitti:pred:`. */
  readonly keyPrefix?: string;
  /**
   * Told about Redis failures. The cache only saves work, so a failing Redis degrades to a miss
   * (get) or a no-op (set) instead of failing the inspection.
   */
  readonly onError?: (error: unknown, operation: 'get' | 'set') => void;
}

/** Prediction cache shared by all inference replicas: JSON values with a TTL. T must be JSON-safe. */
export class RedisPredictionCache<T> implements PredictionCache<T> {
  private readonly keyPrefix: string;

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisPredictionCacheOptions = {},
  ) {
    this.keyPrefix = options.keyPrefix ?? 'chitti:pred:';
  }

  async get(key: string): Promise<T | undefined> {
    let raw: string | null;
    try {
      raw = await this.redis.get(this.keyPrefix + key);
    } catch (error) {
      this.options.onError?.(error, 'get');
      return undefined;
    }
    if (raw === null) return undefined;
    try {
      return JSON.parse(raw) as T;
    } catch (error) {
      // A value this code did not write: treat as a miss, the next set overwrites it.
      this.options.onError?.(error, 'get');
      return undefined;
    }
  }

  async set(key: string, value: T, ttlSeconds: number): Promise<void> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
      throw new RangeError(`ttlSeconds must be a positive integer, got ${ttlSeconds}`);
    }
    try {
      await this.redis.set(this.keyPrefix + key, JSON.stringify(value), 'EX', ttlSeconds);
    } catch (error) {
      this.options.onError?.(error, 'set');
    }
  }
}
