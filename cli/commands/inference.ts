import { join } from 'node:path';
import { Registry } from 'prom-client';
import { FsBlobStore } from '../../infra/blob/fs-blob-store.js';
import { openRuntime, untilSignal } from '../runtime.js';
import type { Subcommand } from '../subcommand.js';
import { createInference, startInference } from '../wiring/inference.js';
import { startMetricsServer } from '../wiring/metrics-server.js';

const command: Subcommand = {
  summary: 'run an inference processor (one member of the Kafka consumer group)',
  usage: `chitti inference
  Needs DATABASE_URL; consumes chitti.inspections when KAFKA_BROKERS is set (run several: they
  share partitions), else follows the log in-process. Blobs and models under CHITTI_DATA_DIR/blobs.
  INFERENCE_THREADS, INFERENCE_MAX_BATCH, INFERENCE_MAX_WAIT_MS tune the sessions and batching.`,
  async run() {
    const runtime = await openRuntime({ name: 'inference', allowEmbedded: false, traced: true });
    const registry = new Registry();
    const service = createInference(runtime, new FsBlobStore(join(runtime.dataDir, 'blobs')), registry);
    await startInference(runtime, service, registry);
    await startMetricsServer(runtime, registry);
    await untilSignal(runtime.logger);
    await runtime.close();
    return 0;
  },
};
export default command;
