import { type ChittiEvent, type EventType, type RecordedEvent, upcast } from '../../schemas/events/index.js';

/** A stored event with its payload lifted to the current schema. */
export interface Decoded<T extends EventType = EventType> {
  readonly event: RecordedEvent;
  readonly domain: Extract<ChittiEvent, { type: T }>;
}

export class UndecodableEventError extends Error {
  readonly code = 'undecodable-event';
  constructor(
    readonly globalPosition: number,
    readonly eventType: string,
    cause: unknown,
  ) {
    super(
      `event at global position ${globalPosition} (${eventType}) cannot be read: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

export function decode(event: RecordedEvent): Decoded {
  try {
    return { event, domain: upcast(event.type, event.schemaVersion, event.data) };
  } catch (error) {
    throw new UndecodableEventError(event.globalPosition, event.type, error);
  }
}
