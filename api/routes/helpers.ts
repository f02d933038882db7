import { mayReadStream, outwardState, type Reader } from '../disclosure.js';
import { forbidden, notFound } from '../http/problem.js';
import { type HandlerInput, JsonText, type Reply } from '../http/route.js';
import type { CommandContext, CommandResult } from '../ports/commands.js';
import type { AggregateHistory, ReadModel } from '../ports/queries.js';
import type { AsOf } from '../schemas.js';
import { namedVersion, type StreamReadCache } from '../stores/stream-read-cache.js';

/** The caller as the disclosure rules see them: the roles of the access token. */
export const readerOf = (input: Pick<HandlerInput<unknown, unknown, unknown>, 'context'>): Reader => ({
  roles: input.context.principal?.roles ?? [],
});

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

/** The answer to a command: the stream's new version (also the ETag) and where its last event sits in the log. */
export function commandReply(
  result: CommandResult,
  options: { status?: number; location?: string; body?: object } = {},
): Reply {
  return {
    status: options.status ?? 200,
    headers: {
      ETag: etag(result.nextExpectedVersion),
      ...(options.location ? { Location: options.location } : {}),
    },
    body: {
      ...(options.body ?? {}),
      streamId: result.streamId,
      streamVersion: result.nextExpectedVersion,
      globalPosition: result.events.at(-1)?.globalPosition ?? null,
      duplicate: result.duplicate,
    },
  };
}

/**
 * A read-model row with the ETag of the stream version it reflects, so If-Match names exactly what
 * the client saw even while the projection lags. Rows that keep their stream's version
 * (`streamVersion`) carry it; for the others it is the version at the row's `position`.
 */
export async function readModelReply(
  history: AggregateHistory,
  streamId: string,
  row: ReadModel | null,
  what: string,
): Promise<Reply> {
  if (!row) throw notFound(`${what} not found`);
  const position = typeof row.position === 'number' ? row.position : undefined;
  const version =
    typeof row.streamVersion === 'number'
      ? row.streamVersion
      : position !== undefined
        ? await history.versionAt(streamId, position)
        : undefined;
  return { status: 200, ...(version !== undefined ? { headers: { ETag: etag(version) } } : {}), body: row };
}

/**
 * `readModelReply` through a cache of serialised answers per stream version and disclosure view
 * (the reader's roles): a hit costs no query, no redaction and no serialisation. Only rows that
 * keep their stream's version are kept; see `StreamReadCache` for why none is ever stale.
 */
export async function cachedReadModelReply(
  cache: StreamReadCache | undefined,
  history: AggregateHistory,
  streamId: string,
  input: Pick<HandlerInput<unknown, unknown, unknown>, 'context' | 'req'>,
  load: (reader: Reader) => Promise<ReadModel | null>,
  what: string,
): Promise<Reply> {
  const reader = readerOf(input);
  if (!cache) return readModelReply(history, streamId, await load(reader), what);
  const variant = reader.roles.join(',');
  const cached = cache.get(streamId, variant, namedVersion(input.req.get('if-none-match')));
  if (cached) return { status: 200, headers: { ETag: etag(cached.version) }, body: new JsonText(cached.text) };
  const row = await load(reader);
  const reply = await readModelReply(history, streamId, row, what);
  if (typeof row?.streamVersion !== 'number') return reply;
  const text = JSON.stringify(reply.body);
  cache.set(streamId, variant, row.streamVersion, text);
  return { ...reply, body: new JsonText(text) };
}

/**
 * Time travel: the aggregate folded from its events up to the position or time asked for, if the
 * reader may read that stream's events, without the fields they may not see.
 */
export async function asOfReply(
  history: AggregateHistory,
  reader: Reader,
  streamId: string,
  at: NonNullable<AsOf>,
): Promise<Reply> {
  if (!mayReadStream(reader, streamId)) throw forbidden(`your roles may not read the events of ${streamId}`);
  const folded = await history.load(streamId, at);
  if (!folded) throw notFound(`${streamId} had no events at that point`);
  return {
    status: 200,
    headers: { ETag: etag(folded.streamVersion) },
    body: {
      streamId,
      streamVersion: folded.streamVersion,
      globalPosition: folded.lastGlobalPosition,
      state: outwardState(reader, streamId, folded.state),
    },
  };
}

export const describeAsOf = (at: NonNullable<AsOf>): string =>
  'asOf' in at ? `asOf=${at.asOf.toISOString()}` : `position=${at.toGlobalPosition}`;
