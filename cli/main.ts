import { ConfigError } from '../infra/config.js';

export interface Subcommand {
  readonly summary: string;
  readonly usage: string;
  run(args: string[]): Promise<number>;
}

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
    return name ? 0 : 2;
  }
  const load = subcommands[name];
  if (!load) {
    process.stderr.write(`chitti: unknown command '${name}'\n\n${await help()}\n`);
    return 2;
  }
  const command = (await load()).default;
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof UsageError) {
      process.stderr.write(`chitti ${name}: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

export class UsageError extends Error {}
