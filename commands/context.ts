import { createHash, randomUUID } from 'node:crypto';
import type { EventMetadata } from '../schemas/events/index.js';

/** Who asks and under which trace: travels into every event's metadata. */
export interface CommandContext {
  readonly actor: string;
  readonly commandId?: string;
  readonly correlationId?: string;
  readonly causationId?: string;
  /** W3C traceparent of the span the command runs in. */
  readonly traceparent?: string;
  /** A retry with the same key (by the same actor) returns the first result and appends nothing. */
  readonly idempotencyKey?: string;
  /**
   * The stream version the caller last saw (e.g. HTTP If-Match). When set, a stale version is a
   * ConcurrencyError and is never retried: the caller decided on what it saw.
   */
  readonly expectedVersion?: number;
}

/**
 * Idempotency keys are scoped to the actor, so two clients that happen to pick the same key never
 * see each other's results. Hashing also bounds the length the store has to keep.
 */
export function scopedIdempotencyKey(ctx: CommandContext): string | undefined {
  if (ctx.idempotencyKey === undefined) return undefined;
  const digest = createHash('sha256').update(ctx.actor).update('\u0000').update(ctx.idempotencyKey).digest('hex');
  return `idem-${digest}`;
}

/** The metadata every event of one command carries; absent fields are left out, not nulled. */
export function eventMetadataOf(ctx: CommandContext): EventMetadata {
  const metadata: Record<string, string> = { actor: ctx.actor };
  if (ctx.correlationId !== undefined) metadata.correlationId = ctx.correlationId;
  if (ctx.causationId !== undefined) metadata.causationId = ctx.causationId;
  if (ctx.traceparent !== undefined) metadata.traceparent = ctx.traceparent;
  if (ctx.commandId !== undefined) metadata.commandId = ctx.commandId;
  const key = scopedIdempotencyKey(ctx);
  if (key !== undefined) metadata.idempotencyKey = key;
  return metadata as EventMetadata;
}

/** Every command gets an id, so the events one command recorded can be told apart from the next one's. */
export const withCommandId = (ctx: CommandContext): CommandContext =>
  ctx.commandId !== undefined ? ctx : { ...ctx, commandId: randomUUID() };
