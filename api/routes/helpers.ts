import { notFound } from '../http/problem.js';
import type { HandlerInput, Reply } from '../http/route.js';
import type { CommandContext, CommandResult } from '../ports/commands.js';
import type { AggregateHistory, Versioned } from '../ports/queries.js';
import type { AsOf } from '../schemas.js';

export const etag = (streamVersion: number): string => `"${streamVersion}"`;

/** Actor, correlation, trace, idempotency and If-Match of a request, as a command takes them. */
export function commandContext(input: HandlerInput<unknown, unknown, unknown>): CommandContext {
  return {
    actor: input.actor,
    correlationId: input.context.correlationId,
    ...(input.context.traceparent ? { traceparent: input.context.traceparent } : {}),
    ...(input.idempotencyKey ? { idempotencyKey: input.idempotencyKey } : {}),
    ...(input.ifMatch !== undefined ? { expectedVersion: input.ifMatch } : {}),
  };
}

export function commandReply(
  result: CommandResult,
  options: { status?: number; location?: string; body?: object } = {},
): Reply {
  return {
    status: options.status ?? 200,
    headers: {
      ETag: etag(result.streamVersion),
      ...(options.location ? { Location: options.location } : {}),
    },
    body: {
      ...(options.body ?? {}),
      streamId: result.streamId,
      streamVersion: result.streamVersion,
      globalPosition: result.lastGlobalPosition,
    },
  };
}

export function versionedReply(found: Versioned | undefined, what: string): Reply {
  if (!found) throw notFound(`${what} not found`);
  return { status: 200, headers: { ETag: etag(found.streamVersion) }, body: found.value };
}

/** Time travel: the aggregate folded from its events up to the position or time asked for. */
export async function asOfReply(history: AggregateHistory, streamId: string, at: NonNullable<AsOf>): Promise<Reply> {
  const folded = await history.loadAsOf(streamId, at);
  if (!folded) throw notFound(`${streamId} did not exist at that point`);
  return {
    status: 200,
    headers: { ETag: etag(folded.streamVersion) },
    body: {
      streamId,
      streamVersion: folded.streamVersion,
      globalPosition: folded.lastGlobalPosition,
      state: folded.state,
    },
  };
}

export const describeAsOf = (at: NonNullable<AsOf>): string =>
  'asOf' in at ? `asOf=${at.asOf.toISOString()}` : `position=${at.toGlobalPosition}`;
