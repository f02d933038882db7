import type { Decider } from '../domain/decider.js';
import type { ChittiEvent, RecordedEvent } from '../schemas/events/index.js';
import { appendDecided, readAppended } from './append-decided.js';
import type { CommandResult } from './command-result.js';
import { type CommandContext, scopedIdempotencyKey, withCommandId } from './context.js';
import { readAggregate } from './load-aggregate.js';
import { ConcurrencyError, type EventStore, InvalidAppendError } from './ports/event-store.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, retryOnConflict } from './retry.js';

export interface HandlerDeps {
  readonly store: EventStore;
  readonly retry?: Partial<RetryPolicy>;
}

/**
 * The command, or a function that builds it from the current state (it may look up other
 * streams); it runs again on every attempt, so a retried decision never uses stale lookups.
 */
export type CommandSource<C, S> = C | ((state: S) => C | Promise<C>);

/**
 * Load, decide, append: folds the stream, lets the decider decide, and appends what it decided
 * with the loaded version as expected version. A concurrent writer makes the append fail with a
 * ConcurrencyError; the whole cycle then runs again on fresh state (bounded, with jitter) unless
 * the caller pinned the version it saw, which surfaces the conflict instead.
 * With an idempotency key, a repeat of a command that already recorded events returns those
 * events (duplicate: true) before deciding anything, so a retry of e.g. a close never fails as
 * "already closed".
 */
export async function handleCommand<C, S, E extends ChittiEvent>(
  deps: HandlerDeps,
  decider: Decider<C, S, E>,
  streamId: string,
  command: CommandSource<C, S>,
  commandContext: CommandContext,
): Promise<CommandResult> {
  const ctx = withCommandId(commandContext);
  const policy: RetryPolicy = {
    ...DEFAULT_RETRY_POLICY,
    ...deps.retry,
    ...(ctx.expectedVersion !== undefined ? { maxRetries: 0 } : {}),
  };
  const recorded = await recordedUnderKey(deps.store, ctx);
  if (recorded) return recorded;
  return retryOnConflict(policy, async () => {
    const loaded = await readAggregate(deps.store, decider, streamId);
    const earlier = priorResult(loaded.recorded, ctx);
    if (earlier)
      return { streamId, events: earlier, nextExpectedVersion: earlier.at(-1)!.streamVersion, duplicate: true };
    if (ctx.expectedVersion !== undefined && ctx.expectedVersion !== loaded.version) {
      throw new ConcurrencyError(streamId, ctx.expectedVersion, loaded.version === 0 ? 'no_stream' : loaded.version);
    }
    const resolved =
      typeof command === 'function' ? await (command as (s: S) => C | Promise<C>)(loaded.state) : command;
    const events = decider.decide(resolved, loaded.state);
    if (events.length === 0) return { streamId, events: [], nextExpectedVersion: loaded.version, duplicate: false };
    try {
      return await appendDecided(deps.store, streamId, events, ctx, loaded.version);
    } catch (error) {
      // A concurrent attempt under the same key (a retry that took over from a slow first try)
      // committed first, to the stream it picked: its result is this command's result.
      if (error instanceof InvalidAppendError) {
        const committed = await recordedUnderKey(deps.store, ctx);
        if (committed && committed.streamId !== streamId) return committed;
      }
      throw error;
    }
  });
}

/**
 * The result of an earlier attempt under the same key, from the store's own record of the append:
 * found even when this attempt would write to another stream (an upload names a new file id on
 * each try) and even when nobody kept the first answer.
 */
async function recordedUnderKey(store: EventStore, ctx: CommandContext): Promise<CommandResult | undefined> {
  const key = scopedIdempotencyKey(ctx);
  if (key === undefined) return undefined;
  const earlier = await store.findIdempotent(key);
  if (!earlier) return undefined;
  return {
    streamId: earlier.streamId,
    events: await readAppended(store, earlier.streamId, earlier.result),
    nextExpectedVersion: earlier.result.nextExpectedVersion,
    duplicate: true,
  };
}

/** Events of this stream already recorded under the same (actor-scoped) idempotency key. */
function priorResult(recorded: readonly RecordedEvent[], ctx: CommandContext): RecordedEvent[] | undefined {
  const key = scopedIdempotencyKey(ctx);
  if (key === undefined) return undefined;
  const matches = recorded.filter((e) => e.metadata.idempotencyKey === key);
  return matches.length > 0 ? matches : undefined;
}
