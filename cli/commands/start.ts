import { join } from 'node:path';
import { Registry } from 'prom-client';
import { FsBlobStore } from '../../infra/blob/fs-blob-store.js';
import { modeOf } from '../../infra/config.js';
import { Sealer } from '../../infra/postgres/sealer.js';
import { deployBundledModel, ensureAdmin } from '../bootstrap.js';
import type { Subcommand } from '../main.js';
import { openRuntime, untilSignal } from '../runtime.js';
import { startApi } from '../wiring/api.js';
import { apiDependencyChecks } from '../wiring/health.js';
import { createInference, startInference } from '../wiring/inference.js';
import { startProjector } from '../wiring/projector.js';
import { startRelay } from '../wiring/relay.js';
import { openSearch } from '../wiring/search.js';

const SEAL_INTERVAL_MS = 10_000;

const command: Subcommand = {
  summary: 'run everything in one process (embedded defaults)',
  usage: `chitti start
  API, projector, search, inference and sealer in one process. With no DATABASE_URL it runs
  embedded PostgreSQL under CHITTI_DATA_DIR (default ./data); with KAFKA_BROKERS it also relays
  to Kafka and takes inspection requests from it; ELASTICSEARCH_URL and REDIS_URL switch search,
  rate limits and the prediction cache to those servers.`,
  async run() {
    const runtime = await openRuntime({ name: 'start', allowEmbedded: true, traced: true });
    const { config, logger } = runtime;
    try {
      const registry = new Registry();
      const blobs = new FsBlobStore(join(runtime.dataDir, 'blobs'));
      const { search, backend } = await openSearch(runtime);
      await startProjector(runtime, search, registry, blobs);
      if (config.KAFKA_BROKERS) await startRelay(runtime);
      const inference = createInference(runtime, blobs, registry);
      await deployBundledModel(runtime, inference.models, config.DEFAULT_MODEL);
      await startInference(runtime, inference);
      startSealer(runtime);
      const keyFile = await ensureAdmin(runtime);
      await startApi(runtime, { blobs, search, registry, healthChecks: apiDependencyChecks(runtime, search) });
      logger.info(
        { mode: modeOf(config), search: backend, database: config.DATABASE_URL ? 'external' : 'embedded', keyFile },
        `Chitti is ready: http://${config.HOST}:${config.PORT} (admin API key in ${keyFile}; try: npm run chitti -- inspect inference/samples/weld-9001056.png)`,
      );
    } catch (error) {
      logger.fatal({ err: error }, 'start failed');
      await runtime.close();
      return 1;
    }
    await untilSignal(logger);
    await runtime.close();
    return 0;
  },
};

/** Seals new events every few seconds so tampering is provable without a manual step. */
function startSealer(runtime: Parameters<typeof startApi>[0]): void {
  const sealer = new Sealer(runtime.pool, { sealKey: runtime.config.SEAL_KEY, rangeSize: runtime.config.SEAL_EVERY });
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = sealer.sealUpTo().catch((error) => runtime.logger.warn({ err: error }, 'sealing failed; will retry'));
  }, SEAL_INTERVAL_MS);
  runtime.onClose(async () => {
    clearInterval(timer);
    await running;
  });
}

export default command;
