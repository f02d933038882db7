import type { HealthCheck } from '../../api/ports/health.js';
import type { Runtime } from '../runtime.js';
import { redisOf } from './redis.js';
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
    const redis = redisOf(runtime, redisUrl);
    checks.push({
      name: 'redis',
      check: async () => {
        await redis.ping();
      },
    });
  }
  return checks;
}
