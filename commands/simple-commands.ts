import type { z } from 'zod';
import type { Decider } from '../domain/decider.js';
import type { ChittiEvent } from '../schemas/events/index.js';
import type { CommandResult } from './command-result.js';
import type { CommandContext } from './context.js';
import type { CommandDeps } from './deps.js';
import { handleCommand } from './handle-command.js';
import { parseInput } from './parse-input.js';

/**
 * The handler of commands that need nothing but their own stream: validate the input with the
 * command's schema, then load → decide → append on the stream the data names.
 */
export function simpleCommands<C extends { type: string }, S, E extends ChittiEvent, T extends C['type']>(
  decider: Decider<C, S, E>,
  schemas: Readonly<Record<T, z.ZodType>>,
  streamIdOfData: (data: never) => string,
) {
  return async (type: T, deps: CommandDeps, input: unknown, ctx: CommandContext): Promise<CommandResult> => {
    const data = parseInput(type, schemas[type], input);
    const command = { type, data, actor: ctx.actor } as unknown as C;
    return handleCommand(deps, decider, streamIdOfData(data as never), command, ctx);
  };
}
