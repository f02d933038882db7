import { describe, expect, it } from 'vitest';
import { decodeCloudEvent, toCloudEvent, toKafkaMessage } from '../../infra/kafka/cloud-event.js';
import { definitionOf, type RecordedEvent } from '../../schemas/events/index.js';
import { detectionsRecorded, recorded } from './fixtures.js';

const options = { topicPrefix: 'chitti', source: '/chitti "eu" \u2028' };

/** How the relay read it: the payload as PostgreSQL's jsonb text (spaces after ':' and ','). */
const asStoredText = (event: RecordedEvent): RecordedEvent => ({
  ...event,
  data: JSON.stringify(event.data).replace(/":/g, '": ').replace(/,"/g, ', "'),
});

function variants(): RecordedEvent[] {
  const base: RecordedEvent = recorded(detectionsRecorded('i-1', ['crack', 'po"ro\\sity $& $1 ünï 𝄞']), {
    streamId: 'inspection-i-1',
    streamVersion: 3,
    globalPosition: 9_007_199_254_740_000,
    recordedAt: new Date('2026-12-03T18:15:00.123Z'),
  });
  // Current version: the relay forwards such payloads as stored.
  expect(definitionOf(base.type).unpublished).toEqual([]);
  Object.assign(base, { schemaVersion: definitionOf(base.type).version });
  return [
    base,
    { ...base, metadata: { actor: 'a "quoted" \\ actor' } },
    { ...base, metadata: { actor: 'x', causationId: 'cause-1', correlationId: '' } },
    { ...base, metadata: { actor: 'x', traceparent: '', causationId: 'c', correlationId: 'corr' } },
  ];
}

describe('the relay envelope of a payload forwarded as stored text', () => {
  it('is the JSON the envelope object serialises to, with the stored text as data', () => {
    for (const event of variants()) {
      const stored = asStoredText(event);
      const message = toKafkaMessage(stored, options);
      const envelope = Object.entries(toCloudEvent(event, options.source)).map(([k, v]) => [
        k,
        k === 'data' ? null : v,
      ]);
      // Same members in the same order and escaping as JSON.stringify of the envelope; data as stored.
      expect(message.value).toBe(
        JSON.stringify(Object.fromEntries(envelope)).replace('"data":null', () => `"data":${stored.data as string}`),
      );
      expect(message.value).toContain('"detectionId": "d0"');
      expect(JSON.parse(message.value)).toEqual(toCloudEvent(event, options.source));
      expect(decodeCloudEvent(Buffer.from(message.value))).toEqual(toCloudEvent(event, options.source));
      expect(message.key).toBe(event.streamId);
      expect(message.topic).toBe('chitti.inspections');
      expect(message.headers.traceparent).toBe(event.metadata.traceparent || undefined);
    }
  });
});
