import { EXIT, exitCodeOf, explainError } from './exit-codes.js';

export { UsageError } from './exit-codes.js';
export type { Subcommand } from './subcommand.js';

import type { Subcommand } from './subcommand.js';

type Loader = () => Promise<{ default: Subcommand }>;

/** Subcommands load lazily: `chitti audit verify` never loads onnxruntime or kafkajs. */
const subcommands: Record<string, Loader> = {
  start: () => import('./commands/start.js'),
  api: () => import('./commands/api.js'),
  relay: () => import('./commands/relay.js'),
  inference: () => import('./commands/inference.js'),
  projector: () => import('./commands/projector.js'),
  projections: () => import('./commands/projections.js'),
  audit: () => import('./commands/audit.js'),
  events: () => import('./commands/events.js'),
  report: () => import('./commands/report.js'),
  inspect: () => import('./commands/inspect.js'),
  migrate: () => import('./commands/migrate.js'),
  backup: () => import('./commands/backup.js'),
  restore: () => import('./commands/restore.js'),
  admin: () => import('./commands/admin.js'),
};

async function help(): Promise<string> {
  const lines = ['usage: chitti <command> [options]', '', 'commands:'];
  for (const [name, load] of Object.entries(subcommands)) {
    const command = (await load()).default;
    lines.push(`  ${name.padEnd(12)} ${command.summary}`);
  }
  lines.push('', 'chitti <command> --help for its options.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${await help()}\n`);
    return name ? EXIT.ok : EXIT.usage;
  }
  const load = subcommands[name];
  if (!load) {
    process.stderr.write(`chitti: unknown command '${name}'\n\n${await help()}\n`);
    return EXIT.usage;
  }
  const command = (await load()).default;
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return EXIT.ok;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    const code = exitCodeOf(error);
    // Expected failures in one line, no stack: the operator fixes the invocation or environment.
    if (code !== EXIT.internal) {
      process.stderr.write(`chitti ${name}: ${explainError(error)}\n`);
      return code;
    }
    process.stderr.write(
      `chitti ${name}: internal error (please report it)\n${(error as Error)?.stack ?? String(error)}\n`,
    );
    return code;
  }
}
