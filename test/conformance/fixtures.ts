import { randomUUID } from 'node:crypto';
import type { EventMetadata, NewEvent } from '../../schemas/events/index.js';

export const actor: EventMetadata = { actor: 'user-conformance', correlationId: 'corr-1' };

/** A unique stream id per call, so tests of one suite never share streams. */
export function freshStream(category = 'file'): string {
  return `${category}-${randomUUID()}`;
}

/** A valid FileTagged event; `n` makes each payload distinct. */
export function tagged(n: number, overrides: Partial<NewEvent> = {}): NewEvent {
  return {
    type: 'FileTagged',
    data: { fileId: `f${n}`, added: [`tag-${n}`], removed: [], taggedBy: 'user-conformance' },
    metadata: actor,
    ...overrides,
  };
}

export function taggedBatch(count: number, from = 1): NewEvent[] {
  return Array.from({ length: count }, (_, i) => tagged(from + i));
}
