import type { HealthCheck } from '../../api/ports/health.js';
import type { ProjectionRunner } from '../../projections/runner.js';
import type { SearchProjector } from '../../projections/search/search-projector.js';
import type { Runtime } from '../runtime.js';
import { redisOf } from './redis.js';
import type { Search } from './search.js';

/**
 * Readiness of what the API itself uses beyond PostgreSQL: every log subscription of this process
 * (identity directory, event streams, and in `start` the projections, reactors and inference), the
 * search index, and Redis when configured.
 */
export function apiDependencyChecks(runtime: Runtime, search: Search): HealthCheck[] {
  const checks: HealthCheck[] = [
    {
      name: 'subscriptions',
      check: async () => {
        const notRunning = runtime.store.subscriptionStatus().filter((s) => s.state !== 'running');
        if (notRunning.length > 0) {
          const names = [...new Set(notRunning.map((s) => `${s.name} ${s.state}`))];
          throw new Error(`not running: ${names.join(', ')}`);
        }
      },
    },
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

/** Readiness of the read side running in this process: no projection failed, the search projector not retrying. */
export function projectorChecks(projector: {
  runner: ProjectionRunner;
  searchProjector: SearchProjector;
}): HealthCheck[] {
  return [
    {
      name: 'projections',
      check: async () => {
        const down = projector.runner.status().filter((s) => s.state !== 'running');
        if (down.length > 0) throw new Error(`not running: ${down.map((s) => `${s.name} ${s.state}`).join(', ')}`);
        const search = await projector.searchProjector.status();
        if (search.state !== 'running') throw new Error(`search projection ${search.state}`);
      },
    },
  ];
}
