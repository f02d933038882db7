import { Registry } from 'prom-client';
import { openRuntime, untilSignal } from '../runtime.js';
import type { Subcommand } from '../subcommand.js';
import { startMetricsServer } from '../wiring/metrics-server.js';
import { startRelay } from '../wiring/relay.js';
import { startSealer } from '../wiring/sealing.js';

const command: Subcommand = {
  summary: 'publish the event log to Kafka as CloudEvents (distributed mode)',
  usage: `chitti relay
  Needs DATABASE_URL and KAFKA_BROKERS. One topic per aggregate (chitti.files, chitti.inspections,
  ...), keyed by stream id; the checkpoint moves only after the broker acknowledged. Also runs the
  sealer (Ed25519 key and seal anchor in CHITTI_DATA_DIR unless SEAL_PRIVATE_KEY[_FILE] is set).`,
  async run() {
    const runtime = await openRuntime({ name: 'relay', allowEmbedded: false, traced: true });
    const registry = new Registry();
    await startRelay(runtime, registry);
    await startSealer(runtime, registry);
    await startMetricsServer(runtime, registry);
    await untilSignal(runtime.logger);
    await runtime.close();
    return 0;
  },
};
export default command;
