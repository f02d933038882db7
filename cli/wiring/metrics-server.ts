import { createServer } from 'node:http';
import type { Registry } from 'prom-client';
import { DependencyError } from '../../infra/config.js';
import { registerProcessMetrics } from '../../infra/process-metrics.js';
import type { Runtime } from '../runtime.js';

/**
 * METRICS_PORT when it is unset: one port per kind of process, so the processes of one install
 * share a host without clashing. Replicas of one kind on one host need a METRICS_PORT each (or 0,
 * a free port, logged); in containers every replica has its own network namespace.
 */
export const DEFAULT_METRICS_PORTS: Readonly<Record<string, number>> = {
  start: 9464,
  api: 9464,
  relay: 9465,
  projector: 9466,
  inference: 9467,
};

export function metricsPortOf(runtime: Pick<Runtime, 'name' | 'config'>): number {
  return runtime.config.METRICS_PORT ?? DEFAULT_METRICS_PORTS[runtime.name] ?? 0;
}

/**
 * /metrics (and /health/live) on the metrics port, for every process: the API keeps it off its own
 * port. Adds the process's default metrics (CPU, memory, event loop lag, GC) and its PostgreSQL pool.
 */
export async function startMetricsServer(runtime: Runtime, registry: Registry): Promise<void> {
  registerProcessMetrics(registry, runtime.pool);
  const port = metricsPortOf(runtime);
  const server = createServer(async (req, res) => {
    if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(await registry.metrics());
    } else if (req.url === '/health/live') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"live"}');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new DependencyError(
              `metrics port ${port} on ${runtime.config.HOST} is in use by another process: stop it or set METRICS_PORT (0 picks a free one)`,
            )
          : error,
      ),
    );
    server.listen(port, runtime.config.HOST, resolve);
  });
  runtime.onClose(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  runtime.logger.info({ port: typeof address === 'object' && address ? address.port : port }, 'metrics on /metrics');
}
