import { readFile } from 'node:fs/promises';
import { aggregateHistory } from '../../api/adapters/aggregate-history.js';
import { verifyReport } from '../../api/reports/verify-report.js';
import { postgresAuditVerifier } from '../../infra/postgres/seal-records.js';
import { ReadModelQueries } from '../../projections/queries.js';
import { parseOptions } from '../args.js';
import { UsageError } from '../exit-codes.js';
import { openRuntime } from '../runtime.js';
import type { Subcommand } from '../subcommand.js';
import { verificationInputs } from '../wiring/sealing.js';

const usage = `chitti report verify FILE
  Says whether FILE (a report downloaded from GET /v1/inspections/{id}/report) is byte for byte
  one Chitti issued, for which inspection, to whom and when, and whether the history it was
  made from still verifies (its last event unchanged, every hash chain and seal intact).
  Prints JSON; exit code 0 when issued and intact, 1 otherwise.`;

const command: Subcommand = {
  summary: 'verify that a report file was issued by Chitti and its history is intact',
  usage,
  async run(args) {
    const { positionals } = parseOptions(args, {});
    const [action, file] = positionals;
    if (action !== 'verify' || !file) throw new UsageError(usage);
    const bytes = await readFile(file);
    const runtime = await openRuntime({ name: 'report', allowEmbedded: true });
    try {
      const result = await verifyReport(
        {
          queries: new ReadModelQueries(runtime.pool, runtime.store),
          history: aggregateHistory(runtime.store),
          auditVerifier: postgresAuditVerifier(runtime.pool, runtime.store, () => verificationInputs(runtime)),
        },
        bytes,
      );
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return result.issued && result.history?.ok ? 0 : 1;
    } finally {
      await runtime.close();
    }
  },
};

export default command;
