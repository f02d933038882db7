import { createServer } from 'node:http';
import type { Registry } from 'prom-client';
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
    server.once('error', reject);
    server.listen(port, runtime.config.HOST, resolve);
  });
  runtime.onClose(() => new Promise<void>((resolve) => server.close(() => resolve())));
  runtime.logger.info({ port }, 'metrics on /metrics');
}
