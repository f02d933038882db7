import { join } from 'node:path';
import { Registry } from 'prom-client';
import { FsBlobStore } from '../../infra/blob/fs-blob-store.js';
import { modeOf } from '../../infra/config.js';
import { deployBundledModel, ensureAdmin, ensureSampleProfile } from '../bootstrap.js';
import { exitCodeOf } from '../exit-codes.js';
import { openRuntime, untilSignal } from '../runtime.js';
import type { Subcommand } from '../subcommand.js';
import { openInspectionCache, startApi } from '../wiring/api.js';
import { apiDependencyChecks, projectorChecks } from '../wiring/health.js';
import { createInference, startInference } from '../wiring/inference.js';
import { startProjector } from '../wiring/projector.js';
import { startRelay } from '../wiring/relay.js';
import { startSealer } from '../wiring/sealing.js';
import { openSearch } from '../wiring/search.js';

const command: Subcommand = {
  summary: 'run everything in one process (embedded defaults)',
  usage: `chitti start
  API, projector, search, inference and sealer in one process. With no DATABASE_URL it runs
  embedded PostgreSQL under CHITTI_DATA_DIR (default ./data); with KAFKA_BROKERS it also relays
  to Kafka and takes inspection requests from it; ELASTICSEARCH_URL and REDIS_URL switch search,
  rate limits and the prediction cache to those servers. Without JWT_KEYS / JWT_KEYS_FILE it
  generates its JWT key ring into CHITTI_DATA_DIR/secrets (loopback HOST only), as it does the
  embedded database's password; after a crash it stops the PostgreSQL the dead run left behind.`,
  async run() {
    const runtime = await openRuntime({
      name: 'start',
      allowEmbedded: true,
      traced: true,
      jwtKeys: 'generate-on-loopback',
    });
    const { config, logger } = runtime;
    try {
      const registry = new Registry();
      const blobs = new FsBlobStore(join(runtime.dataDir, 'blobs'));
      const { search, backend } = await openSearch(runtime);
      // Opened before the projector, which notes each batch into it before applying it.
      const inspectionCache = await openInspectionCache(runtime, registry);
      const projector = await startProjector(runtime, search, registry, blobs, {
        readModelLog: inspectionCache.notingAhead(runtime.store),
      });
      if (config.KAFKA_BROKERS) await startRelay(runtime, registry);
      const inference = createInference(runtime, blobs, registry);
      await deployBundledModel(runtime, inference.models, config.DEFAULT_MODEL);
      await ensureSampleProfile(runtime);
      await startInference(runtime, inference, registry);
      await startSealer(runtime, registry);
      const keyFile = await ensureAdmin(runtime);
      await startApi(runtime, {
        blobs,
        search,
        registry,
        inspectionCache,
        healthChecks: [...apiDependencyChecks(runtime, search), ...projectorChecks(projector)],
      });
      logger.info(
        { mode: modeOf(config), search: backend, database: config.DATABASE_URL ? 'external' : 'embedded', keyFile },
        `Chitti is ready: http://${config.HOST}:${config.PORT} (admin API key in ${keyFile}; try: npm run chitti -- inspect inference/samples/weld-9001056.png)`,
      );
    } catch (error) {
      logger.fatal({ err: error }, 'start failed');
      await runtime.close();
      return exitCodeOf(error);
    }
    await untilSignal(logger);
    await runtime.close();
    return 0;
  },
};

export default command;
