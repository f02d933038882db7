import { decodeStored, type EventData, type EventMetadata } from '../../schemas/events/index.js';

/** One InspectionRequested, as any transport delivers it, upcast to the current schema. */
export interface InspectionRequest {
  /** The InspectionRequested event's id (causation of what the processor records). */
  readonly eventId: string;
  readonly data: EventData<'InspectionRequested'>;
  readonly metadata: Pick<EventMetadata, 'correlationId' | 'traceparent'>;
}

export type ProcessOutcome =
  | {
      readonly inspectionId: string;
      readonly status: 'recorded';
      readonly cached: boolean;
      readonly shadows: { readonly recorded: readonly string[]; readonly failed: readonly string[] };
    }
  /** Nothing to do: the live result or a final failure is already recorded (a redelivery). */
  | { readonly inspectionId: string; readonly status: 'already-done' }
  /** A final InspectionFailed was recorded: a transport with a dead-letter topic sends it there. */
  | {
      readonly inspectionId: string;
      readonly status: 'failed';
      readonly code: EventData<'InspectionFailed'>['code'];
      readonly reason: string;
      readonly attempt: number;
    };

/** Handles a batch of requests (concurrently inside); resolves once each is recorded, skipped or failed finally. */
export type InspectionRequestHandler = (requests: readonly InspectionRequest[]) => Promise<readonly ProcessOutcome[]>;

/**
 * Where inspection requests come from — the processor's port. Embedded mode: an in-process
 * subscription to the global log (`embedded-source.ts`); distributed: a Kafka consumer group.
 * A source delivers at least once; the processor makes redelivery harmless.
 */
export interface InspectionRequestSource {
  start(handler: InspectionRequestHandler): Promise<void>;
  stop(): Promise<void>;
}

/** The fields of a stored event or a CloudEvent envelope a source needs to pass on. */
export interface TransportedEvent {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
  readonly metadata?: Partial<EventMetadata> | undefined;
}

/** The request carried by an event, or undefined when it is another type. Throws on an invalid payload. */
export function inspectionRequestFrom(event: TransportedEvent): InspectionRequest | undefined {
  if (event.type !== 'InspectionRequested') return undefined;
  const current = decodeStored(event);
  if (current.type !== 'InspectionRequested') return undefined;
  const metadata: { correlationId?: string; traceparent?: string } = {};
  if (event.metadata?.correlationId) metadata.correlationId = event.metadata.correlationId;
  if (event.metadata?.traceparent) metadata.traceparent = event.metadata.traceparent;
  return { eventId: event.eventId, data: current.data, metadata };
}
