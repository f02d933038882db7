import { join, resolve } from 'node:path';
import { backup } from '../../infra/postgres/backup.js';
import { intOption, parseOptions } from '../args.js';
import { UsageError } from '../exit-codes.js';
import { openRuntime } from '../runtime.js';
import type { Subcommand } from '../subcommand.js';

const usage = `chitti backup DIR [--chunk-events N]
  Writes the event store (events, streams, seals, idempotency keys, checkpoints), the relay's and
  the API's bookkeeping, and the blobs under CHITTI_DATA_DIR/blobs to DIR, consistent at one global
  position, streamed (gzip NDJSON, N events per chunk, default 100000). Resumable: run it again on
  the same DIR after an interruption, or later for an incremental refresh; finished chunks are
  kept. DIR/manifest.json is written last. Prints {position, events, ...} as JSON.`;

const command: Subcommand = {
  summary: 'back up the event store and blobs to a folder (consistent, streaming, resumable)',
  usage,
  async run(args) {
    const { positionals, values } = parseOptions(args, { 'chunk-events': { type: 'string' } });
    const dir = positionals[0];
    if (!dir || positionals.length > 1) throw new UsageError(usage);
    const chunkEvents = intOption(values['chunk-events'], 'chunk-events', 100_000);
    if (chunkEvents === 0) throw new UsageError('--chunk-events must be at least 1');
    const runtime = await openRuntime({ name: 'backup', allowEmbedded: true });
    try {
      const result = await backup(runtime.pool, {
        dir: resolve(dir),
        blobsDir: join(runtime.dataDir, 'blobs'),
        chunkEvents,
      });
      runtime.logger.info(result, 'backup written');
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return 0;
    } finally {
      await runtime.close();
    }
  },
};
export default command;
