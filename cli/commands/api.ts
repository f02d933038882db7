import { join } from 'node:path';
import { Registry } from 'prom-client';
import { FsBlobStore } from '../../infra/blob/fs-blob-store.js';
import { openRuntime, untilSignal } from '../runtime.js';
import type { Subcommand } from '../subcommand.js';
import { startApi } from '../wiring/api.js';
import { apiDependencyChecks } from '../wiring/health.js';
import { openSearch } from '../wiring/search.js';

const command: Subcommand = {
  summary: 'serve the REST API only (distributed mode)',
  usage: `chitti api
  Needs DATABASE_URL and JWT_KEYS (or JWT_KEYS_FILE), the same in every API process. Serves /v1,
  /auth, /openapi.json, /health on HOST:PORT and /metrics on METRICS_PORT; rate limits in Redis
  when REDIS_URL is set; search in Elasticsearch when ELASTICSEARCH_URL is set.
  Blobs under CHITTI_DATA_DIR/blobs (share that volume with the inference processes).`,
  async run() {
    const runtime = await openRuntime({ name: 'api', allowEmbedded: false, traced: true, jwtKeys: 'explicit' });
    const registry = new Registry();
    const { search } = await openSearch(runtime);
    const blobs = new FsBlobStore(join(runtime.dataDir, 'blobs'));
    await startApi(runtime, { blobs, search, registry, healthChecks: apiDependencyChecks(runtime, search) });
    await untilSignal(runtime.logger);
    await runtime.close();
    return 0;
  },
};
export default command;
