import { join, resolve } from 'node:path';
import { cliActor, parseOptions } from '../args.js';
import { bootstrapAdmin } from '../bootstrap.js';
import { UsageError } from '../exit-codes.js';
import { openRuntime } from '../runtime.js';
import type { Subcommand } from '../subcommand.js';

const USAGE = `chitti admin bootstrap [--key-file PATH] [--email EMAIL] [--new-key]
  The first admin of an install: records the user 'admin' (role admin) and an API key, written to
  PATH (default CHITTI_DATA_DIR/admin-api-key), a new file with mode 0600; the key is printed and
  logged nowhere. For distributed installs (DATABASE_URL), where no process runs \`chitti start\`,
  which does this by itself. Idempotent: once the admin has an active key, a repeat records nothing
  (exit 0, "already-bootstrapped"). --new-key issues one more key for the admin (a lost file).
  Refuses (exit 2) when PATH exists. Prints one JSON line: outcome, userId, keyId, keyFile.
  Further users and keys: POST /v1/users and /v1/users/{id}/api-keys with the admin's token.`;

const command: Subcommand = {
  summary: 'create the first admin and its API key (distributed installs); idempotent',
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseOptions(args, {
      'key-file': { type: 'string' },
      email: { type: 'string', default: 'admin@chitti.local' },
      'new-key': { type: 'boolean', default: false },
    });
    if (positionals[0] !== 'bootstrap' || positionals.length !== 1) throw new UsageError(USAGE);
    const runtime = await openRuntime({ name: 'admin', allowEmbedded: true });
    try {
      const keyFile = resolve(values['key-file'] ?? join(runtime.dataDir, 'admin-api-key'));
      let result: Awaited<ReturnType<typeof bootstrapAdmin>>;
      try {
        result = await bootstrapAdmin(runtime, {
          keyFile,
          email: values.email,
          newKey: values['new-key'],
          actor: cliActor(),
        });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST')
          throw new UsageError(`${keyFile} exists: move it away or give another --key-file (no key was issued)`);
        throw error;
      }
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return 0;
    } finally {
      await runtime.close();
    }
  },
};
export default command;
