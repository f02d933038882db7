import type { HealthCheck } from '../../api/ports/health.js';
import { createRedisClient } from '../../infra/redis/client.js';
import type { Runtime } from '../runtime.js';
import type { Search } from './search.js';

/** Readiness of what the API itself uses beyond PostgreSQL: the search index and Redis when configured. */
export function apiDependencyChecks(runtime: Runtime, search: Search): HealthCheck[] {
  const checks: HealthCheck[] = [
    {
      name: 'search',
      check: async () => {
        await search.checkpoint();
      },
    },
  ];
  const redisUrl = runtime.config.REDIS_URL;
  if (redisUrl) {
    const redis = createRedisClient(redisUrl);
    runtime.onClose(async () => {
      await redis.quit();
    });
    checks.push({
      name: 'redis',
      check: async () => {
        await redis.ping();
      },
    });
  }
  return checks;
}
