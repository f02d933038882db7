import { join } from 'node:path';
import { Registry } from 'prom-client';
import { FsBlobStore } from '../../infra/blob/fs-blob-store.js';
import { openRuntime, untilSignal } from '../runtime.js';
import type { Subcommand } from '../subcommand.js';
import { startMetricsServer } from '../wiring/metrics-server.js';
import { startProjector } from '../wiring/projector.js';
import { openSearch } from '../wiring/search.js';

const command: Subcommand = {
  summary: 'keep the read models and the search index up to date, erase deleted files (distributed mode)',
  usage: `chitti projector
  Runs every PostgreSQL read model, the blob eraser and the search projection (Elasticsearch when
  ELASTICSEARCH_URL is set, PostgreSQL full-text search otherwise). Metrics on METRICS_PORT.`,
  async run() {
    const runtime = await openRuntime({ name: 'projector', allowEmbedded: false, traced: true });
    const registry = new Registry();
    const { search } = await openSearch(runtime);
    await startProjector(runtime, search, registry, new FsBlobStore(join(runtime.dataDir, 'blobs')));
    await startMetricsServer(runtime, registry);
    await untilSignal(runtime.logger);
    await runtime.close();
    return 0;
  },
};
export default command;
