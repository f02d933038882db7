import { ensureProjection } from '../../projections/generations.js';
import { readModelProjections } from '../../projections/read-models/index.js';
import { rebuildProjections } from '../../projections/rebuild.js';
import { parseOptions } from '../args.js';
import { UsageError } from '../exit-codes.js';
import { openRuntime } from '../runtime.js';
import type { Subcommand } from '../subcommand.js';
import { openSearch } from '../wiring/search.js';

const names = readModelProjections.map((p) => p.name);
const usage = `chitti projections rebuild NAME|all|search
  Replays the whole log into fresh tables while the current ones keep serving, then swaps them in
  atomically. NAME: ${names.join(', ')}; 'all' rebuilds every read model from one replay;
  'search' rebuilds the search index (Elasticsearch: new index + alias swap).

chitti projections status
  Checkpoint and lag of every projection.`;

const command: Subcommand = {
  summary: 'rebuild a read model from position 0 without downtime, or show checkpoints',
  usage,
  async run(args) {
    const { positionals } = parseOptions(args, {});
    const [action, name] = positionals;
    if (action === 'rebuild' && (!name || ![...names, 'all', 'search'].includes(name))) throw new UsageError(usage);
    if (action !== 'rebuild' && action !== 'status') throw new UsageError(usage);
    const runtime = await openRuntime({ name: 'projections', allowEmbedded: true });
    try {
      if (action === 'status') {
        const head = await runtime.store.headPosition();
        const rows = [];
        for (const projection of readModelProjections) {
          const checkpoint = await ensureProjection(runtime.pool, projection);
          rows.push({ ...checkpoint, head, lag: head - checkpoint.position });
        }
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return 0;
      }
      if (name === 'search') {
        const search = await openSearch(runtime);
        process.stdout.write(`${JSON.stringify({ backend: search.backend, ...(await search.rebuild()) })}\n`);
        return 0;
      }
      const chosen = name === 'all' ? names : [name!];
      for (const result of await rebuildProjections(runtime.pool, runtime.store, chosen, { logger: runtime.logger })) {
        const rate = Math.round(result.events / Math.max(result.durationMs / 1000, 0.001));
        process.stdout.write(`${JSON.stringify({ ...result, eventsPerSecond: rate })}\n`);
      }
      return 0;
    } finally {
      await runtime.close();
    }
  },
};
export default command;
