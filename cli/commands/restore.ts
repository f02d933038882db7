import { join, resolve } from 'node:path';
import { RestoreRefusedError, restore } from '../../infra/postgres/backup.js';
import { readModelProjections } from '../../projections/read-models/index.js';
import { rebuildProjections } from '../../projections/rebuild.js';
import { parseOptions } from '../args.js';
import { UsageError } from '../exit-codes.js';
import { openRuntime } from '../runtime.js';
import type { Subcommand } from '../subcommand.js';
import { openSearch } from '../wiring/search.js';

const usage = `chitti restore DIR
  Restores a backup written by 'chitti backup' into a database without events (a fresh
  DATABASE_URL, or a fresh CHITTI_DATA_DIR for the embedded one), in one transaction, after
  checking every file against the manifest; copies its blobs into CHITTI_DATA_DIR/blobs; then
  rebuilds every read model and the search index from the restored log. Run it with Chitti
  stopped. Then 'chitti audit verify' proves the restored log intact.`;

const command: Subcommand = {
  summary: 'restore a backup into an empty database, then rebuild read models and search',
  usage,
  async run(args) {
    const { positionals } = parseOptions(args, {});
    const dir = positionals[0];
    if (!dir || positionals.length > 1) throw new UsageError(usage);
    const runtime = await openRuntime({ name: 'restore', allowEmbedded: true });
    try {
      let restored: Awaited<ReturnType<typeof restore>>;
      try {
        restored = await restore(runtime.pool, { dir: resolve(dir), blobsDir: join(runtime.dataDir, 'blobs') });
      } catch (error) {
        if (error instanceof RestoreRefusedError) throw new UsageError(error.message);
        throw error;
      }
      runtime.logger.info(restored, 'backup restored; rebuilding read models and search');
      const started = Date.now();
      await rebuildProjections(
        runtime.pool,
        runtime.store,
        readModelProjections.map((p) => p.name),
        { logger: runtime.logger },
      );
      const search = await openSearch(runtime);
      await search.rebuild();
      const result = { ...restored, rebuildMs: Date.now() - started, search: search.backend };
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return 0;
    } finally {
      await runtime.close();
    }
  },
};
export default command;
