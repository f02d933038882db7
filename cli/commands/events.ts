import { once } from 'node:events';
import { outwardEvent } from '../../api/disclosure.js';
import { recordAccess } from '../../commands/access.js';
import { decodeStored } from '../../schemas/events/index.js';
import { cliActor, hostReader, intOption, parseOptions } from '../args.js';
import { UsageError } from '../exit-codes.js';
import { openRuntime, untilSignal } from '../runtime.js';
import type { Subcommand } from '../subcommand.js';

const usage = `chitti events tail [--from POS] [--type TYPE] [--stream PREFIX]
  Prints events as JSON lines as they are committed, in global order, from POS (default: now),
  without secret fields (the API's redaction).`;

const command: Subcommand = {
  summary: 'follow the global event log',
  usage,
  async run(args) {
    const { positionals, values } = parseOptions(args, {
      from: { type: 'string' },
      type: { type: 'string', multiple: true },
      stream: { type: 'string' },
    });
    if (positionals[0] !== 'tail') throw new UsageError(usage);
    const runtime = await openRuntime({ name: 'events', allowEmbedded: true });
    try {
      const head = await runtime.store.headPosition();
      const after = values.from === undefined ? head : Math.max(0, intOption(values.from, 'from', 0) - 1);
      await recordAccess(
        { store: runtime.store },
        { action: 'events.tail', resource: `events:${after + 1}..`, decision: 'allowed', reason: null },
        { actor: cliActor() },
      );
      const types = values.type ? new Set(values.type) : undefined;
      const subscription = runtime.store.subscribe({
        after,
        name: 'events-tail',
        handle: async (batch) => {
          for (const event of batch) {
            if (types && !types.has(event.type)) continue;
            if (values.stream && !event.streamId.startsWith(values.stream)) continue;
            const { data } = decodeStored(event);
            const shown = outwardEvent(hostReader(false), { ...event, data });
            if (!shown) continue;
            const line = JSON.stringify(shown);
            if (!process.stdout.write(`${line}\n`)) await once(process.stdout, 'drain');
          }
        },
        onError: (error) => runtime.logger.warn({ err: error }, 'tail: reading the log failed; retrying'),
      });
      await untilSignal(runtime.logger);
      await subscription.stop();
      return 0;
    } finally {
      await runtime.close();
    }
  },
};
export default command;
