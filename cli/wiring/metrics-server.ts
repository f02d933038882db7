import { createServer } from 'node:http';
import type { Registry } from 'prom-client';
import { DependencyError } from '../../infra/config.js';
import type { Runtime } from '../runtime.js';

/** /metrics (and /health/live) on METRICS_PORT, for every process: the API keeps it off its own port. */
export async function startMetricsServer(runtime: Runtime, registry: Registry): Promise<void> {
  const port = runtime.config.METRICS_PORT;
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
