import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { topicOf } from '../../schemas/topics/catalogue.js';
import { topicMessageSchema } from '../../schemas/topics/envelope.js';
import { inspectionRequested, recorded } from '../../test/kafka/fixtures.js';
import { decodeCloudEvent, domainEventOf, PoisonMessageError, toCloudEvent, toKafkaMessage } from './cloud-event.js';

const stored = recorded(inspectionRequested('i-1'), {
  streamId: 'inspection-i-1',
  streamVersion: 3,
  globalPosition: 42,
});

describe('CloudEvents envelope', () => {
  it('carries the event id, stream, positions, time and metadata as CloudEvents attributes', () => {
    expect(toCloudEvent(stored, '/chitti/test')).toEqual({
      specversion: '1.0',
      id: stored.eventId,
      source: '/chitti/test',
      type: 'chitti.InspectionRequested.v3',
      subject: 'inspection-i-1',
      time: '2026-11-23T09:00:00.000Z',
      datacontenttype: 'application/json',
      dataschema: 'https://chitti.dev/schemas/topics/chitti.inspections.schema.json#chitti.InspectionRequested.v3',
      data: stored.data,
      streamid: 'inspection-i-1',
      streamversion: 3,
      globalposition: '42',
      actor: 'user-1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      correlationid: 'corr-1',
    });
  });

  it('publishes old stored versions upcast to the current version', () => {
    const v1 = {
      ...stored,
      schemaVersion: 1,
      data: { inspectionId: 'i-1', fileId: 'f-1', modelName: 'weld', modelVersion: '2', requestedBy: 'u' },
    };
    const envelope = toCloudEvent(v1);
    expect(envelope.type).toBe('chitti.InspectionRequested.v3');
    expect(envelope.data).toMatchObject({ model: { name: 'weld', version: '2', sha256: null }, shadows: [] });
  });

  it('forwards a payload read as stored JSON text verbatim, with the same envelope as a parsed one', () => {
    // Text that would trip a naive splice: a replacement pattern and a look-alike of the data key.
    const tricky = { ...stored, data: { ...(stored.data as object), requestedBy: 'a $& b "data":null' } };
    const text = JSON.stringify(tricky.data, null, 1);
    const options = { topicPrefix: 'chitti', source: '/chitti' };
    const fromText = toKafkaMessage({ ...tricky, data: text }, options);
    const fromParsed = toKafkaMessage(tricky, options);
    expect(fromText.value).toContain(text); // the stored bytes, not a re-serialisation
    expect(JSON.parse(fromText.value)).toEqual(JSON.parse(fromParsed.value));
    expect(fromText.headers).toEqual(fromParsed.headers);
    // Older versions are still upcast when they arrive as text.
    const v1 = {
      ...stored,
      schemaVersion: 1,
      data: JSON.stringify({
        inspectionId: 'i-1',
        fileId: 'f-1',
        modelName: 'weld',
        modelVersion: '2',
        requestedBy: 'u',
      }),
    };
    expect(JSON.parse(toKafkaMessage(v1, options).value).data).toMatchObject({ model: { name: 'weld', sha256: null } });
  });

  it('routes by stream category, keys by stream id and sends the trace context as a header', () => {
    const message = toKafkaMessage(stored, { topicPrefix: 'chitti', source: '/chitti' });
    expect(message.topic).toBe('chitti.inspections');
    expect(message.key).toBe('inspection-i-1');
    expect(message.headers).toEqual({
      'content-type': 'application/cloudevents+json; charset=UTF-8',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    const decoded = decodeCloudEvent(Buffer.from(message.value));
    expect(decoded).toEqual(toCloudEvent(stored));
    expect(domainEventOf(decoded)).toEqual({ type: 'InspectionRequested', data: stored.data });
  });

  it('refuses what is not a valid Chitti CloudEvent with a reason', () => {
    const good = toCloudEvent(stored);
    const cases: [Buffer | null, RegExp][] = [
      [null, /empty/],
      [Buffer.from('{'), /not JSON/],
      [Buffer.from(JSON.stringify({ ...good, specversion: '0.3' })), /specversion/],
      [Buffer.from(JSON.stringify({ ...good, type: 'chitti.Nope.v1' })), /unknown event type 'Nope'/],
      [Buffer.from(JSON.stringify({ ...good, type: 'chitti.InspectionRequested.v9' })), /newer than this reader/],
      [Buffer.from(JSON.stringify({ ...good, data: { inspectionId: 'i-1' } })), /data is invalid/],
    ];
    for (const [value, reason] of cases) {
      expect(() => decodeCloudEvent(value)).toThrow(PoisonMessageError);
      expect(() => decodeCloudEvent(value)).toThrow(reason);
    }
  });
});

describe('secret material on topics', () => {
  const secretSha256 = 'e'.repeat(64);
  const issued = {
    ...recorded(
      {
        type: 'ApiKeyIssued',
        data: { userId: 'u1', keyId: 'k1', secretSha256, label: 'ci', expiresAt: null, issuedBy: 'admin' },
      },
      { streamId: 'user-u1', streamVersion: 2, globalPosition: 7 },
    ),
    schemaVersion: 2,
  };

  it('never publishes an API key hash: not in the message, not in the published schema', () => {
    const envelope = toCloudEvent(issued);
    expect(envelope.type).toBe('chitti.ApiKeyIssued.v2');
    expect(envelope.data).toEqual({ userId: 'u1', keyId: 'k1', label: 'ci', expiresAt: null, issuedBy: 'admin' });
    const message = toKafkaMessage(issued, { topicPrefix: 'chitti', source: '/chitti' });
    expect(message.value).not.toContain(secretSha256);
    expect(JSON.stringify(z.toJSONSchema(topicMessageSchema(topicOf('ApiKeyIssued'))))).not.toContain('secretSha256');
    // What was published decodes as a valid message of its type.
    expect(decodeCloudEvent(Buffer.from(message.value)).data).toEqual(envelope.data);
  });

  it('drops the hash from a v1 message that carried it', () => {
    const v1 = { ...toCloudEvent(issued), type: 'chitti.ApiKeyIssued.v1', data: { ...(issued.data as object) } };
    const decoded = decodeCloudEvent(Buffer.from(JSON.stringify(v1)));
    expect(decoded.type).toBe('chitti.ApiKeyIssued.v2');
    expect(decoded.data).not.toHaveProperty('secretSha256');
  });
});
