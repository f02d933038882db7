import type { Decider } from '../domain/decider.js';
import type { ChittiEvent, RecordedEvent } from '../schemas/events/index.js';
import { appendDecided } from './append-decided.js';
import type { CommandResult } from './command-result.js';
import { type CommandContext, scopedIdempotencyKey, withCommandId } from './context.js';
import { ConcurrencyError, type EventStore, InvalidAppendError } from './ports/event-store.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, retryOnConflict } from './retry.js';
import {
  foldRecorded,
  readCurrent,
  readFresh,
  type StreamState,
  type StreamStateCache,
  stateCacheOf,
} from './stream-state.js';

export interface HandlerDeps {
  readonly store: EventStore;
  readonly retry?: Partial<RetryPolicy>;
  /** Folded states of recent streams; default the one cache of `store` (see stateCacheOf). */
  readonly states?: StreamStateCache;
}

/**
 * The command, or a function that builds it from the current state (it may look up other
 * streams); it runs again on every attempt, so a retried decision never uses stale lookups.
 */
export type CommandSource<C, S> = C | ((state: S) => C | Promise<C>);

/**
 * Decide, append, fold: lets the decider decide on the stream's state and appends what it decided
 * with that state's version as expected version. The state comes from the store's state cache
 * when it has the stream (no read, no re-fold of the history) and from a full read otherwise.
 *
 * The cache may be stale (another process appended): the expected version still decides. A stale
 * state that leads to an append makes it fail with a ConcurrencyError; the entry is dropped and
 * the cycle runs again on a fresh read (bounded, with jitter), unless the caller pinned the version
 * it saw, which surfaces the conflict instead. An answer that would not go through that guard (a
 * rejection, "already satisfied", a pinned version that does not match) is only given on a fresh
 * read. So a stale cache costs a retry, never a wrong decision.
 *
 * With an idempotency key, a repeat of a command that already recorded events returns those
 * events (duplicate: true): found in the stream on a fresh read, by the store when the append
 * carries a key it has seen, or in the store's key record when the decision fails or is empty
 * (so a retry of e.g. a close never fails as "already closed").
 */
export async function handleCommand<C, S, E extends ChittiEvent>(
  deps: HandlerDeps,
  decider: Decider<C, S, E>,
  streamId: string,
  command: CommandSource<C, S>,
  commandContext: CommandContext,
): Promise<CommandResult<S>> {
  const ctx = withCommandId(commandContext);
  const policy: RetryPolicy = {
    ...DEFAULT_RETRY_POLICY,
    ...deps.retry,
    ...(ctx.expectedVersion !== undefined ? { maxRetries: 0 } : {}),
  };
  const states = deps.states ?? stateCacheOf(deps.store);
  const folding = decider as unknown as Decider<never, S, E>;
  const resultUnderKey = async (): Promise<CommandResult<S> | undefined> => {
    const recorded = await recordedUnderKey(deps.store, ctx);
    if (!recorded) return undefined;
    const { state } = await readCurrent(deps.store, states, folding, recorded.streamId);
    return { ...recorded, state };
  };

  return retryOnConflict(policy, async () => {
    const cached = states.get(streamId, folding);
    for (const fresh of cached ? [false, true] : [true]) {
      let loaded: StreamState<S>;
      if (fresh) {
        const read = await readFresh(deps.store, states, folding, streamId);
        const earlier = priorResult(read.recorded, ctx);
        if (earlier) {
          const last = earlier.at(-1)!;
          return {
            streamId,
            events: earlier,
            nextExpectedVersion: last.streamVersion,
            duplicate: true,
            state: read.state,
          };
        }
        loaded = read;
      } else {
        loaded = cached!;
      }
      if (ctx.expectedVersion !== undefined && ctx.expectedVersion !== loaded.version) {
        if (!fresh) continue;
        throw new ConcurrencyError(streamId, ctx.expectedVersion, loaded.version === 0 ? 'no_stream' : loaded.version);
      }
      let events: E[];
      try {
        const resolved =
          typeof command === 'function' ? await (command as (s: S) => C | Promise<C>)(loaded.state) : command;
        events = decider.decide(resolved, loaded.state);
      } catch (error) {
        const earlier = await resultUnderKey();
        if (earlier) return earlier;
        if (!fresh) continue;
        throw error;
      }
      if (events.length === 0) {
        const earlier = await resultUnderKey();
        if (earlier) return earlier;
        if (!fresh) continue;
        return { streamId, events: [], nextExpectedVersion: loaded.version, duplicate: false, state: loaded.state };
      }
      let appended: Awaited<ReturnType<typeof appendDecided>>;
      try {
        appended = await appendDecided(deps.store, streamId, events, ctx, loaded.version);
      } catch (error) {
        if (error instanceof ConcurrencyError) states.delete(streamId);
        // A concurrent attempt under the same key (a retry that took over from a slow first try)
        // committed first, to the stream it picked: its result is this command's result.
        if (error instanceof InvalidAppendError) {
          const committed = await resultUnderKey();
          if (committed && committed.streamId !== streamId) return committed;
        }
        throw error;
      }
      const result = {
        streamId,
        events: appended.events,
        nextExpectedVersion: appended.nextExpectedVersion,
        duplicate: appended.duplicate,
      };
      if (appended.duplicate) {
        const { state } = await readCurrent(deps.store, states, folding, streamId);
        return { ...result, state };
      }
      const after = foldRecorded(folding, loaded, appended.events);
      states.set(streamId, folding, after);
      return { ...result, state: after.state };
    }
    throw new Error('unreachable: the fresh pass always returns or throws');
  });
}

/**
 * The result of an earlier attempt under the same key, from the store's own record of the append:
 * found even when this attempt would write to another stream (an upload names a new file id on
 * each try) and even when nobody kept the first answer.
 */
async function recordedUnderKey(
  store: EventStore,
  ctx: CommandContext,
): Promise<Omit<CommandResult, 'state'> | undefined> {
  const key = scopedIdempotencyKey(ctx);
  if (key === undefined) return undefined;
  const earlier = await store.findIdempotent(key);
  if (!earlier) return undefined;
  return {
    streamId: earlier.streamId,
    events: earlier.result.events,
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
