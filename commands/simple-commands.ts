import type { z } from 'zod';
import type { Decider } from '../domain/decider.js';
import type { ChittiEvent } from '../schemas/events/index.js';
import type { CommandResult } from './command-result.js';
import type { CommandContext } from './context.js';
import type { CommandDeps } from './deps.js';
import { handleCommand } from './handle-command.js';
import { parseInput } from './parse-input.js';
import { COMMUTATIVE_RETRY_POLICY } from './retry.js';

/**
 * The handler of commands that need nothing but their own stream: validate the input with the
 * command's schema, then load → decide → append on the stream the data names. Commands listed as
 * `commutative` are retried on a version conflict until they land (unless the caller pinned a
 * version with If-Match): see COMMUTATIVE_RETRY_POLICY.
 */
export function simpleCommands<C extends { type: string }, S, E extends ChittiEvent, T extends C['type']>(
  decider: Decider<C, S, E>,
  schemas: Readonly<Record<T, z.ZodType>>,
  streamIdOfData: (data: never) => string,
  options: { readonly commutative?: readonly NoInfer<T>[] } = {},
) {
  const commutative = new Set<string>(options.commutative ?? []);
  return async (type: T, deps: CommandDeps, input: unknown, ctx: CommandContext): Promise<CommandResult<S>> => {
    const data = parseInput(type, schemas[type], input);
    const command = { type, data, actor: ctx.actor } as unknown as C;
    const handlerDeps = commutative.has(type)
      ? { ...deps, retry: { ...COMMUTATIVE_RETRY_POLICY, ...deps.retry } }
      : deps;
    return handleCommand(handlerDeps, decider, streamIdOfData(data as never), command, ctx);
  };
}
