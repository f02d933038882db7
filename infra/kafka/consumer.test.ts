import type { Kafka, KafkaMessage, Message } from 'kafkajs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DetectionsRecorded } from '../../schemas/events/index.js';
import {
  createTopics,
  deleteTopics,
  detectionsRecorded,
  eventually,
  recorded,
  testKafka,
  uniquePrefix,
} from '../../test/kafka/fixtures.js';
import { sharedKafka } from '../../test/kafka/kafka-server.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/pg.js';
import { type CloudEvent, toKafkaMessage } from './cloud-event.js';
import { runConsumer, UnprocessableEventError } from './consumer.js';
import { readDeadLetterHeaders } from './dead-letter.js';
import { PostgresDedupeStore } from './dedupe.js';
import { migrateKafkaIntegration } from './migrate.js';

describe('runConsumer against real Kafka and Postgres', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let kafka: Kafka;
  const prefix = uniquePrefix();
  const topic = `${prefix}.inspections`;
  const dlq = `${prefix}.dead-letter`;
  let nextPosition = 1;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    await migrateKafkaIntegration(pool);
    await pool.query('CREATE TABLE effects (event_id text NOT NULL, note text NOT NULL)');
    kafka = testKafka(await sharedKafka());
    await createTopics(kafka, [
      { topic, numPartitions: 2 },
      { topic: dlq, numPartitions: 1 },
    ]);
  });

  afterAll(async () => {
    await deleteTopics(kafka, [topic, dlq]);
    await pool.end();
    await db.drop();
  });

  function inspectionEvent(inspectionId: string) {
    const event = recorded(detectionsRecorded(inspectionId, ['crack']), {
      streamId: `inspection-${inspectionId}`,
      streamVersion: 1,
      globalPosition: nextPosition++,
    });
    return { event, message: toKafkaMessage(event, { topicPrefix: prefix, source: '/test' }) };
  }

  async function produce(messages: Message[]) {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages, acks: -1 });
    await producer.disconnect();
  }

  async function readDeadLetters(count: number): Promise<KafkaMessage[]> {
    const found: KafkaMessage[] = [];
    const reader = kafka.consumer({ groupId: `${prefix}.dlq-reader.${Math.random()}`, maxWaitTimeInMs: 200 });
    await reader.connect();
    await reader.subscribe({ topics: [dlq], fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        found.push(message);
      },
    });
    await eventually(`${count} dead letters`, () => found.length >= count);
    await reader.disconnect();
    return found;
  }

  it('handles each event once, in the handler transaction, even when the broker delivers it twice', async () => {
    const groupId = `${prefix}.once`;
    const events = Array.from({ length: 6 }, (_, i) => inspectionEvent(`once${i}`));
    // Every message twice: a relay retry after a lost acknowledgement looks exactly like this.
    await produce([...events, ...events].map(({ message }) => ({ ...message })));

    const seen: CloudEvent[] = [];
    const running = await runConsumer({
      kafka,
      groupId,
      topics: [topic],
      deadLetterTopic: dlq,
      dedupe: new PostgresDedupeStore(pool),
      handle: async (event, { tx }) => {
        seen.push(event);
        await tx.query('INSERT INTO effects (event_id, note) VALUES ($1, $2)', [event.id, 'once']);
      },
    });
    await eventually('all handled', async () => {
      const { rows } = await pool.query("SELECT count(*)::int AS n FROM effects WHERE note = 'once'");
      return rows[0].n === events.length;
    });
    const admin = kafka.admin();
    await admin.connect();
    await eventually('offsets committed', async () => {
      const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
      return offsets[0]?.partitions.reduce((n, p) => n + Number(p.offset), 0) === events.length * 2;
    });
    await admin.disconnect();
    await running.stop();

    expect(seen.map((e) => e.id).sort()).toEqual(events.map((e) => e.event.eventId).sort());
    expect(seen[0]?.type).toBe(`chitti.DetectionsRecorded.v${DetectionsRecorded.version}`);
    const { rows } = await pool.query("SELECT event_id FROM effects WHERE note = 'once'");
    expect(rows.map((r) => r.event_id).sort()).toEqual(events.map((e) => e.event.eventId).sort());
  });

  it('reports the lag of each partition after every handled message, down to 0', async () => {
    const lagTopic = `${prefix}.lag`;
    await createTopics(kafka, [{ topic: lagTopic, numPartitions: 1 }]);
    try {
      const events = Array.from({ length: 8 }, (_, i) => inspectionEvent(`lag${i}`));
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: lagTopic, messages: events.map(({ message }) => ({ ...message })), acks: -1 });
      await producer.disconnect();
      const lags: { topic: string; partition: number; lag: number }[] = [];
      const running = await runConsumer({
        kafka,
        groupId: `${prefix}.lag`,
        topics: [lagTopic],
        deadLetterTopic: dlq,
        dedupe: new PostgresDedupeStore(pool),
        handle: async () => undefined,
        onLag: (info) => lags.push(info),
      });
      await eventually('all handled', () => lags.length === events.length);
      await running.stop();
      // All 8 were on the broker before the group started: 7 still to handle after the first, ... 0.
      expect(lags).toEqual(events.map((_, i) => ({ topic: lagTopic, partition: 0, lag: events.length - 1 - i })));
    } finally {
      await deleteTopics(kafka, [lagTopic]);
    }
  });

  it('retries a failing handler with backoff, rolls back its effect each time, and handles it once', async () => {
    const { event, message } = inspectionEvent('flaky');
    await produce([{ ...message }]);
    let calls = 0;
    const running = await runConsumer({
      kafka,
      groupId: `${prefix}.flaky`,
      topics: [topic],
      deadLetterTopic: dlq,
      retry: { initialMs: 10, maxMs: 20 },
      dedupe: new PostgresDedupeStore(pool),
      handle: async (e, { tx, attempt }) => {
        if (e.id !== event.eventId) return;
        calls++;
        await tx.query('INSERT INTO effects (event_id, note) VALUES ($1, $2)', [e.id, `flaky-${attempt}`]);
        if (attempt < 3) throw new Error('transient');
      },
    });
    await eventually('handled', () => calls === 3);
    await running.stop();
    const { rows } = await pool.query("SELECT note FROM effects WHERE note LIKE 'flaky-%'");
    expect(rows.map((r) => r.note)).toEqual(['flaky-3']);
  });

  it('retries through a dependency outage without using up the attempts or dead-lettering', async () => {
    const { event, message } = inspectionEvent('outage');
    await produce([{ ...message }]);
    const attemptsSeen: number[] = [];
    let handled = false;
    const running = await runConsumer({
      kafka,
      groupId: `${prefix}.outage`,
      topics: [topic],
      deadLetterTopic: dlq,
      maxAttempts: 2,
      retry: { initialMs: 5, maxMs: 10 },
      dedupe: new PostgresDedupeStore(pool),
      handle: async (e, { attempt }) => {
        if (e.id !== event.eventId) return;
        attemptsSeen.push(attempt);
        if (attemptsSeen.length <= 4) {
          // A real outage: nothing listens on port 1, so this fails with ECONNREFUSED.
          const unreachable = new pg.Client({ host: '127.0.0.1', port: 1 });
          await unreachable.connect();
        }
        handled = true;
      },
    });
    await eventually('handled after the outage', () => handled);
    await running.stop();
    expect(attemptsSeen).toEqual([1, 1, 1, 1, 1]);
  });

  it('dead-letters after the bounded retries with the reason and the original headers, and poison at once', async () => {
    const { event, message } = inspectionEvent('doomed');
    await produce([
      { ...message },
      { key: 'inspection-garbage', value: Buffer.from('{not json'), headers: { origin: 'fuzzer' } },
      { key: 'inspection-rejected', value: inspectionEvent('rejected').message.value },
    ]);
    const attempts: number[] = [];
    const running = await runConsumer({
      kafka,
      groupId: `${prefix}.doomed`,
      topics: [topic],
      deadLetterTopic: dlq,
      maxAttempts: 3,
      retry: { initialMs: 10, maxMs: 20 },
      dedupe: new PostgresDedupeStore(pool),
      handle: async (e, { attempt }) => {
        const id = (e.data as { inspectionId: string }).inspectionId;
        if (id === 'doomed') {
          attempts.push(attempt);
          throw new Error('scanner offline');
        }
        if (id === 'rejected') throw new UnprocessableEventError('model was retired');
      },
    });
    const letters = await readDeadLetters(3);
    await running.stop();

    const byKey = new Map(letters.map((m) => [m.key?.toString(), m]));
    const doomed = byKey.get(event.streamId);
    expect(attempts).toEqual([1, 2, 3]);
    expect(doomed?.value?.toString()).toBe(message.value);
    expect(doomed?.headers?.['content-type']?.toString()).toBe(message.headers['content-type']);
    expect(readDeadLetterHeaders(doomed?.headers)).toMatchObject({
      kind: 'exhausted',
      reason: 'Error: scanner offline',
      attempts: 3,
      topic,
      consumer: `${prefix}.doomed`,
    });
    const poison = byKey.get('inspection-garbage');
    expect(poison?.headers?.origin?.toString()).toBe('fuzzer');
    expect(readDeadLetterHeaders(poison?.headers)).toMatchObject({ kind: 'poison', attempts: 0 });
    expect(readDeadLetterHeaders(poison?.headers)?.reason).toMatch(/^value is not JSON/);
    expect(readDeadLetterHeaders(byKey.get('inspection-rejected')?.headers)).toMatchObject({
      kind: 'rejected',
      attempts: 1,
      reason: 'UnprocessableEventError: model was retired',
    });
  });
});
