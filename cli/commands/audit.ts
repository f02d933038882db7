import { once } from 'node:events';
import { outwardEvent } from '../../api/disclosure.js';
import { recordAccess } from '../../commands/access.js';
import { verifyAudit } from '../../infra/postgres/audit-verify.js';
import { Sealer } from '../../infra/postgres/sealer.js';
import { currentVersionOf, decodeStored } from '../../schemas/events/index.js';
import { cliActor, hostReader, intOption, parseOptions } from '../args.js';
import { type Subcommand, UsageError } from '../main.js';
import { openRuntime } from '../runtime.js';

const usage = `chitti audit verify [--seal]
  Recomputes every stream's hash chain and every seal; names the first altered, inserted or
  deleted event. Exit code 0 when intact, 1 when not (3: database unreachable). --seal first
  seals what is unsealed.

chitti audit export [--from POS] [--to POS] [--raw]
  Writes the log as NDJSON (one event per line, with hash) to stdout, upcast to current
  schema versions and without secret fields (API-key hashes, named in "redacted"), the same
  redaction the API applies; --raw writes every event exactly as stored, secrets included,
  for offline hash verification. The export itself is recorded as an access event.`;

const command: Subcommand = {
  summary: 'verify tamper evidence (hash chains + seals) or export the log',
  usage,
  async run(args) {
    const { positionals, values } = parseOptions(args, {
      seal: { type: 'boolean' },
      from: { type: 'string' },
      to: { type: 'string' },
      raw: { type: 'boolean' },
    });
    const action = positionals[0];
    if (action !== 'verify' && action !== 'export') throw new UsageError(usage);
    const runtime = await openRuntime({ name: 'audit', allowEmbedded: true });
    const ctx = { actor: cliActor() };
    try {
      if (action === 'verify') {
        if (values.seal) await new Sealer(runtime.pool, { sealKey: runtime.config.SEAL_KEY }).sealUpTo();
        const report = await verifyAudit(runtime.pool, { sealKey: runtime.config.SEAL_KEY });
        await recordAccess(
          { store: runtime.store },
          { action: 'audit.verify', resource: 'events', decision: 'allowed', reason: null },
          ctx,
        );
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return report.ok ? 0 : 1;
      }
      const from = intOption(values.from, 'from', 0);
      const to = intOption(values.to, 'to', Number.MAX_SAFE_INTEGER);
      await recordAccess(
        { store: runtime.store },
        {
          action: 'audit.export',
          resource: `events:${from}..${values.to ?? 'head'}${values.raw ? ' raw' : ''}`,
          decision: 'allowed',
          reason: null,
        },
        ctx,
      );
      let after = Math.max(0, from - 1);
      for (;;) {
        const batch = await runtime.store.readAll({ after, maxCount: 1000 });
        const inRange = batch.filter((e) => e.globalPosition <= to);
        for (const event of inRange) {
          const current = values.raw
            ? event
            : { ...event, data: decodeStored(event).data, schemaVersion: currentVersionOf(event.type) };
          const shown = outwardEvent(hostReader(values.raw === true), current);
          if (!shown) continue;
          const line = JSON.stringify(shown);
          if (!process.stdout.write(`${line}\n`)) await once(process.stdout, 'drain');
        }
        if (batch.length === 0 || inRange.length < batch.length) break;
        after = batch[batch.length - 1]!.globalPosition;
      }
      return 0;
    } finally {
      await runtime.close();
    }
  },
};
export default command;
