import type { Redis } from 'ioredis';
import { createRedisClient } from '../../infra/redis/client.js';
import type { Runtime } from '../runtime.js';

const clients = new WeakMap<Runtime, Redis>();

/** The process's one Redis connection (rate limits, prediction cache, health), closed with the runtime. */
export function redisOf(runtime: Runtime, url: string): Redis {
  let redis = clients.get(runtime);
  if (!redis) {
    const client = createRedisClient(url);
    runtime.onClose(async () => {
      await client.quit();
    });
    clients.set(runtime, client);
    redis = client;
  }
  return redis;
}
