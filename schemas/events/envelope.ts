import { z } from 'zod';

/** What the writer knows about the stream it appends to (optimistic concurrency). */
export type ExpectedVersion = 'any' | 'no_stream' | 'stream_exists' | number;

export const MAX_METADATA_BYTES = 8 * 1024;

export const EventMetadata = z
  .object({
    actor: z.string().min(1).max(200),
    correlationId: z.string().max(200).optional(),
    causationId: z.string().max(200).optional(),
    traceparent: z
      .string()
      .regex(/^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/)
      .optional(),
    commandId: z.string().max(200).optional(),
  })
  .catchall(z.union([z.string(), z.number(), z.boolean(), z.null()]));
export type EventMetadata = z.infer<typeof EventMetadata>;

/** An event as a writer hands it to the store. schemaVersion defaults to the type's current version. */
export interface NewEvent {
  readonly type: string;
  readonly data: unknown;
  readonly eventId?: string;
  readonly schemaVersion?: number;
  readonly metadata: EventMetadata;
}

/** An event as stored: the position fields, content and hash are immutable once written. */
export interface RecordedEvent {
  /** 1-based, strictly increasing in commit order across all streams; gaps are allowed. */
  readonly globalPosition: number;
  readonly streamId: string;
  /** 1-based version of the event inside its stream, without gaps. */
  readonly streamVersion: number;
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  /** As stored: run it through `upcast` before interpreting it. */
  readonly data: unknown;
  readonly metadata: EventMetadata;
  readonly recordedAt: Date;
  /** sha256 hex over the event's content and the previous event's hash in its stream. */
  readonly hash: string;
  /** The previous event's hash in its stream (null for the first); set by the PostgreSQL store. */
  readonly prevHash?: string | null;
  /** The hash rule (1: chitti-event-v1, 2: chitti-event-v2, see docs/integrity.md); set by the PostgreSQL store. */
  readonly hashVersion?: number;
}
