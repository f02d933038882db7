import type { z } from 'zod';
import { accessDecider } from '../domain/access/index.js';
import { RecordAccess } from '../schemas/commands/access.js';
import { streamIdOf } from '../schemas/events/index.js';
import { appendDecided } from './append-decided.js';
import type { CommandResult } from './command-result.js';
import { type CommandContext, withCommandId } from './context.js';
import { type CommandDeps, clockOf } from './deps.js';
import { parseInput } from './parse-input.js';

/** One access log stream per UTC day. */
export const accessStreamId = (day: Date): string => streamIdOf('access', day.toISOString().slice(0, 10));

/**
 * Puts a sensitive read (audit export, replay, time travel, ...) on the record; the actor is
 * `ctx.actor`. The log is append-only and no decision depends on what it holds, so nothing is
 * loaded and the append expects any version: busy days never conflict.
 */
export async function recordAccess(
  deps: CommandDeps,
  input: z.input<typeof RecordAccess>,
  ctx: CommandContext,
): Promise<CommandResult<undefined>> {
  const data = parseInput('RecordAccess', RecordAccess, input);
  const events = accessDecider.decide({ type: 'RecordAccess', data, actor: ctx.actor }, accessDecider.initialState());
  const streamId = accessStreamId(clockOf(deps));
  const {
    events: recorded,
    nextExpectedVersion,
    duplicate,
  } = await appendDecided(deps.store, streamId, events, withCommandId(ctx), 'any');
  // Nothing is folded: no decision reads the log.
  return { streamId, events: recorded, nextExpectedVersion, duplicate, state: undefined };
}
