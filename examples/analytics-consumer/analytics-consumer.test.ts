import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toKafkaMessage } from '../../infra/kafka/cloud-event.js';
import { KafkaRelay } from '../../infra/kafka/relay.js';
import { PostgresRelayCheckpoints } from '../../infra/kafka/relay-checkpoints.js';
import type { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { allTopics } from '../../schemas/topics/index.js';
import { detectionsRecorded, eventually, inspectionRequested, uniquePrefix } from '../../test/kafka/fixtures.js';
import { openRelayTestStack, type RelayTestStack } from '../../test/kafka/relay-stack.js';
import { startAnalyticsConsumer } from './consumer.js';
import { defectClassesOf, defectRates, hourOf } from './defect-rates.js';

describe('defect-rate helpers', () => {
  it('buckets times by UTC hour and lists distinct classes', () => {
    expect(hourOf('2026-11-23T09:41:07.123Z')).toBe('2026-11-23T09:00:00.000Z');
    expect(hourOf('2026-11-23T10:59:59+02:00')).toBe('2026-11-23T08:00:00.000Z');
    expect(() => hourOf('yesterday')).toThrow(RangeError);
    expect(defectClassesOf([{ className: 'crack' }, { className: 'pore' }, { className: 'crack' }])).toEqual([
      'crack',
      'pore',
    ]);
  });
});

// The analytics side sees nothing but the topic: events are written to the event store, the relay
// publishes them, and the example consumer builds its own table from Kafka.
describe('analytics consumer from the inspections topic', () => {
  it('imports nothing of Chitti but reads the published schema', async () => {
    const { readFile } = await import('node:fs/promises');
    for (const file of ['consumer.ts', 'defect-rates.ts', 'main.ts']) {
      const source = await readFile(new URL(file, import.meta.url), 'utf8');
      const imports = [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
      expect(
        imports.filter((path) => path?.startsWith('../')),
        file,
      ).toEqual([]);
    }
  });

  let stack: RelayTestStack;
  let pool: pg.Pool;
  let store: PostgresEventStore;
  let kafka: Kafka;
  const prefix = uniquePrefix();

  beforeAll(async () => {
    stack = await openRelayTestStack();
    ({ pool, store, kafka } = stack);
  });

  afterAll(() => stack.close(allTopics(prefix)));

  it('computes the defect rate per class per hour, once per event', async () => {
    const results: Record<string, string[]> = { a: ['crack', 'porosity'], b: ['porosity'], c: [], d: ['crack'] };
    for (const [id, classes] of Object.entries(results)) {
      const shadow = {
        ...detectionsRecorded(id, ['slag']),
        data: { ...detectionsRecorded(id, ['slag']).data, role: 'shadow' as const },
      };
      await store.append(
        `inspection-${id}`,
        [
          { ...inspectionRequested(id), metadata: { actor: 'u' } },
          { ...detectionsRecorded(id, classes), metadata: { actor: 'worker' } },
          { ...shadow, metadata: { actor: 'worker' } },
        ],
        { expectedVersion: 'no_stream' },
      );
    }
    const relay = new KafkaRelay({
      log: store,
      kafka,
      checkpoints: new PostgresRelayCheckpoints(pool),
      topicPrefix: prefix,
      partitions: 2,
    });
    await relay.start();
    await relay.waitUntilPublished(await store.headPosition());
    await relay.stop();
    // A duplicate delivery of inspection a's result, as an at-least-once relay may produce.
    const [again] = (await store.readStream('inspection-a')).filter((e) => e.type === 'DetectionsRecorded');
    if (!again) throw new Error('no result for a');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: `${prefix}.inspections`,
      messages: [{ ...toKafkaMessage(again, { topicPrefix: prefix, source: '/chitti' }) }],
    });
    await producer.disconnect();

    const consumer = await startAnalyticsConsumer({ kafka, pool, topicPrefix: prefix });
    await eventually('all 13 messages consumed', async () => {
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM analytics.processed_events');
      return rows[0].n === 12;
    });
    const admin = kafka.admin();
    await admin.connect();
    await eventually('offsets committed', async () => {
      const offsets = await admin.fetchOffsets({
        groupId: `${prefix}.analytics.defect-rates`,
        topics: [`${prefix}.inspections`],
      });
      return offsets[0]?.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0) === 13;
    });
    await admin.disconnect();
    await consumer.stop();
    expect(consumer.unknownTypes.size).toBe(0);

    // Expected from the stored results themselves, so the test holds across an hour boundary too.
    const live = (await store.readAll({ after: 0, maxCount: 100 })).filter(
      (e) => e.type === 'DetectionsRecorded' && (e.data as { role: string }).role === 'live',
    );
    const hours = new Map<string, { total: number; classes: Map<string, number> }>();
    for (const event of live) {
      const bucket = hours.get(hourOf(event.recordedAt.toISOString())) ?? { total: 0, classes: new Map() };
      bucket.total++;
      for (const c of results[(event.data as { inspectionId: string }).inspectionId] ?? []) {
        bucket.classes.set(c, (bucket.classes.get(c) ?? 0) + 1);
      }
      hours.set(hourOf(event.recordedAt.toISOString()), bucket);
    }
    const expected = [...hours].flatMap(([hour, { total, classes }]) =>
      [...classes].map(([className, n]) => ({
        hour,
        className,
        inspectionsWithClass: n,
        inspections: total,
        rate: n / total,
      })),
    );
    expect(live).toHaveLength(4);
    expect(await defectRates(pool)).toEqual(
      expected.sort((x, y) => x.hour.localeCompare(y.hour) || x.className.localeCompare(y.className)),
    );
  });
});
