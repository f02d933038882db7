import type { z } from 'zod';
import { type UserCommand, type UserState, userDecider } from '../domain/user/index.js';
import { GrantRole, IssueApiKey, RegisterUser, RevokeApiKey, RevokeRole } from '../schemas/commands/user.js';
import { streamIdOf } from '../schemas/events/index.js';
import { sha256Hex } from './api-keys.js';
import type { CommandResult } from './command-result.js';
import type { CommandContext } from './context.js';
import { type CommandDeps, clockOf, newIdOf, newSecretOf } from './deps.js';
import { handleCommand } from './handle-command.js';
import { type LoadedAggregate, loadAggregate, type PointInTime } from './load-aggregate.js';
import { parseInput } from './parse-input.js';
import { simpleCommands } from './simple-commands.js';

export const userStreamId = (userId: string): string => streamIdOf('user', userId);

type SimpleType = Exclude<UserCommand['type'], 'IssueApiKey'>;
const schemas = { RegisterUser, GrantRole, RevokeRole, RevokeApiKey } satisfies Record<SimpleType, z.ZodType>;

const run = simpleCommands(userDecider, schemas, (data: { userId: string }) => userStreamId(data.userId), {
  commutative: ['GrantRole', 'RevokeRole', 'RevokeApiKey'],
});

export const registerUser = (deps: CommandDeps, input: z.input<typeof RegisterUser>, ctx: CommandContext) =>
  run('RegisterUser', deps, input, ctx);
export const grantRole = (deps: CommandDeps, input: z.input<typeof GrantRole>, ctx: CommandContext) =>
  run('GrantRole', deps, input, ctx);
export const revokeRole = (deps: CommandDeps, input: z.input<typeof RevokeRole>, ctx: CommandContext) =>
  run('RevokeRole', deps, input, ctx);
export const revokeApiKey = (deps: CommandDeps, input: z.input<typeof RevokeApiKey>, ctx: CommandContext) =>
  run('RevokeApiKey', deps, input, ctx);

export interface IssuedApiKey extends CommandResult {
  readonly keyId: string;
  /** The secret, shown this once; null for a duplicate (only its hash was ever stored). */
  readonly secret: string | null;
}

/** Issues an api key: the id and secret are generated here, the events hold only the secret's sha256. */
export async function issueApiKey(
  deps: CommandDeps,
  input: z.input<typeof IssueApiKey>,
  ctx: CommandContext,
): Promise<IssuedApiKey> {
  const data = parseInput('IssueApiKey', IssueApiKey, input);
  let secret = '';
  const result = await handleCommand(
    deps,
    userDecider,
    userStreamId(data.userId),
    () => {
      secret = newSecretOf(deps);
      return {
        type: 'IssueApiKey' as const,
        actor: ctx.actor,
        data: { ...data, keyId: newIdOf(deps), secretSha256: sha256Hex(secret), now: clockOf(deps).toISOString() },
      };
    },
    ctx,
  );
  const issued = result.events.find((e) => e.type === 'ApiKeyIssued');
  const keyId = (issued?.data as { keyId?: string } | undefined)?.keyId;
  if (keyId === undefined) throw new Error('IssueApiKey recorded no ApiKeyIssued event');
  return { ...result, keyId, secret: result.duplicate ? null : secret };
}

export function loadUser(deps: CommandDeps, userId: string, at: PointInTime = {}): Promise<LoadedAggregate<UserState>> {
  return loadAggregate(deps.store, userDecider, userStreamId(userId), at, deps.states);
}
