import { migrateEverything } from '../migrations.js';
import { openRuntime } from '../runtime.js';
import type { Subcommand } from '../subcommand.js';

const command: Subcommand = {
  summary: 'apply every pending database migration and exit',
  usage:
    'chitti migrate\n\nApplies the event store, relay and search migrations (idempotent, safe to run concurrently).',
  async run() {
    const runtime = await openRuntime({ name: 'migrate', allowEmbedded: true });
    try {
      await migrateEverything(runtime.pool);
      runtime.logger.info('migrations applied');
      return 0;
    } finally {
      await runtime.close();
    }
  },
};
export default command;
