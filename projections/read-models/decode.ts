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

// Several projections fed from one read (a rebuild of all models) share the decoded payloads.
const decodedEvents = new WeakMap<RecordedEvent, Decoded>();

/**
 * Upcasts a stored event to its current schema and validates it, also when it is already current
 * (unlike `decodeStored`): a row written around the store (corruption, tampering) stops the read
 * model with an error naming its position instead of projecting garbage. Each event is parsed once.
 */
export function decode(event: RecordedEvent): Decoded {
  const known = decodedEvents.get(event);
  if (known) return known;
  let decoded: Decoded;
  try {
    decoded = { event, domain: upcast(event.type, event.schemaVersion, event.data) };
  } catch (error) {
    throw new UndecodableEventError(event.globalPosition, event.type, error);
  }
  decodedEvents.set(event, decoded);
  return decoded;
}
