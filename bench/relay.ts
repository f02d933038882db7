/**
 * Kafka relay benchmark, against the local broker (infra/local/kafka.sh) and PostgreSQL:
 *  1. relay throughput: events/s from the Postgres global log to Kafka through KafkaRelay (read,
 *     upcast, CloudEvents encoding, idempotent acks=all send, checkpoint), beside a raw kafkajs
 *     producer with the same settings sending the same, pre-encoded messages in the same batches;
 *  2. end-to-end lag from append (recorded time) to a consumer-group member's handler, p50/p99,
 *     with the relay live and the consumer deduping in Postgres.
 *
 *   node --import tsx bench/relay.ts
 *
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), KAFKA_BROKERS (default:
 * the local broker, started if needed), BENCH_EVENTS (default 40000), BENCH_LAG_EVENTS (default 2000).
 */
import { randomBytes } from 'node:crypto';
import { type Kafka, Kafka as KafkaClient, logLevel, type Message } from 'kafkajs';
import pg from 'pg';
import { toKafkaMessage } from '../infra/kafka/cloud-event.js';
import { runConsumer } from '../infra/kafka/consumer.js';
import { PostgresDedupeStore } from '../infra/kafka/dedupe.js';
import { migrateKafkaIntegration } from '../infra/kafka/migrate.js';
import { KafkaRelay } from '../infra/kafka/relay.js';
import { PostgresRelayCheckpoints } from '../infra/kafka/relay-checkpoints.js';
import { ensureTopics } from '../infra/kafka/topics.js';
import { PostgresEventStore } from '../infra/postgres/event-store.js';
import { migrate } from '../infra/postgres/migrate.js';
import type { NewEvent } from '../schemas/events/index.js';
import { allTopics, deadLetterTopic } from '../schemas/topics/index.js';
import { sharedKafka } from '../test/kafka/kafka-server.js';
import { createBenchDatabase, runIfMain } from './support.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 40_000);
const LAG_EVENTS = Number(process.env.BENCH_LAG_EVENTS ?? 2_000);
const BATCH = 1_000;
const PARTITIONS = 6;
const ROUNDS = 2;

export interface RelayBenchResult {
  readonly events: number;
  readonly relayEventsPerSec: number;
  readonly rawEventsPerSec: number;
  readonly ratio: number;
  readonly lagP50Ms: number;
  readonly lagP99Ms: number;
  readonly lagSamples: number;
}

const SHA = 'd'.repeat(64);
function detectionsRecorded(n: number): NewEvent {
  return {
    type: 'DetectionsRecorded',
    data: {
      inspectionId: `b${n}`,
      role: 'live',
      model: { name: 'weld-defects', version: '2.1.0', sha256: SHA },
      detections: [0, 1, 2].map((i) => ({
        detectionId: `d${i}`,
        classId: i,
        className: ['crack', 'porosity', 'slag'][i] as string,
        score: 0.9 - i * 0.1,
        box: { x1: 10 * i, y1: 20, x2: 10 * i + 40, y2: 60 },
      })),
      image: { width: 2048, height: 1536 },
      window: null,
      thresholds: { confidence: 0.25, iou: 0.7, maxDetections: 300 },
      timings: { queueMs: 3, preprocessMs: 20, inferenceMs: 80, postprocessMs: 2 },
      batchSize: 4,
      cached: false,
      tiling: null,
    },
    metadata: { actor: 'bench-worker', correlationId: `corr-${n}` },
  };
}

async function fill(store: PostgresEventStore, from: number, count: number): Promise<void> {
  // 4 events per stream, appended in groups of streams in parallel: setup, not measured.
  const perStream = 4;
  const streams = Math.ceil(count / perStream);
  const concurrency = 8;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let s = next++; s < streams; s = next++) {
        const events = Array.from({ length: Math.min(perStream, count - s * perStream) }, (_, i) =>
          detectionsRecorded(from + s * perStream + i),
        );
        await store.append(`inspection-b${from}-${s}`, events, { expectedVersion: 'no_stream' });
      }
    }),
  );
}

async function createTopics(kafka: Kafka, prefix: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(
    admin,
    [...allTopics(prefix), deadLetterTopic(prefix)].map((topic) => ({ topic, numPartitions: PARTITIONS })),
  );
  await admin.disconnect();
}

async function deleteTopics(kafka: Kafka, prefixes: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin
    .deleteTopics({ topics: prefixes.flatMap((p) => [...allTopics(p), deadLetterTopic(p)]) })
    .catch(() => undefined);
  await admin.disconnect();
}

async function timeRelay(kafka: Kafka, pool: pg.Pool, store: PostgresEventStore, prefix: string): Promise<number> {
  await createTopics(kafka, prefix);
  const relay = new KafkaRelay({
    log: store,
    kafka,
    checkpoints: new PostgresRelayCheckpoints(pool),
    name: `bench-${prefix}`,
    topicPrefix: prefix,
    batchSize: BATCH,
  });
  const head = await store.headPosition();
  const started = performance.now();
  await relay.start();
  await relay.waitUntilPublished(head);
  const seconds = (performance.now() - started) / 1000;
  await relay.stop();
  return EVENTS / seconds;
}

async function timeRaw(kafka: Kafka, batches: Message[][], topic: string): Promise<number> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  // The relay's time includes connecting its producer, so the baseline's does too.
  const started = performance.now();
  await producer.connect();
  for (const messages of batches) await producer.sendBatch({ topicMessages: [{ topic, messages }], acks: -1 });
  const seconds = (performance.now() - started) / 1000;
  await producer.disconnect();
  return EVENTS / seconds;
}

async function measureLag(kafka: Kafka, pool: pg.Pool, store: PostgresEventStore, prefix: string) {
  await createTopics(kafka, prefix);
  const relay = new KafkaRelay({
    log: store,
    kafka,
    checkpoints: new PostgresRelayCheckpoints(pool),
    name: `bench-lag-${prefix}`,
    topicPrefix: prefix,
  });
  const lags: number[] = [];
  let done: () => void = () => undefined;
  const allSeen = new Promise<void>((resolve) => {
    done = resolve;
  });
  const consumer = await runConsumer({
    kafka,
    groupId: `${prefix}.bench-lag`,
    topics: [`${prefix}.inspections`],
    topicPrefix: prefix,
    fromBeginning: false,
    partitionsConsumedConcurrently: PARTITIONS,
    dedupe: new PostgresDedupeStore(pool),
    handle: async (event) => {
      lags.push(Date.now() - Date.parse(event.time));
      if (lags.length === LAG_EVENTS) done();
    },
  });
  await consumer.joined;
  // The relay starts at the head: only the events appended below are measured.
  await new PostgresRelayCheckpoints(pool).save(`bench-lag-${prefix}`, await store.headPosition());
  await relay.start();
  // Single-event appends at a steady pace, as requests would arrive (~200/s): latency, not saturation.
  const base = 10_000_000;
  for (let i = 0; i < LAG_EVENTS; i += 10) {
    await Promise.all(
      Array.from({ length: 10 }, (_, j) =>
        store.append(`inspection-lag-${i + j}`, [detectionsRecorded(base + i + j)], { expectedVersion: 'no_stream' }),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await Promise.race([allSeen, new Promise((resolve) => setTimeout(resolve, 60_000))]);
  await relay.stop();
  await consumer.stop();
  lags.sort((a, b) => a - b);
  const pct = (p: number) => lags[Math.min(lags.length - 1, Math.floor((p / 100) * lags.length))] ?? Number.NaN;
  return { p50: pct(50), p99: pct(99), samples: lags.length };
}

export async function main(): Promise<RelayBenchResult> {
  const database = await createBenchDatabase('chitti_bench_relay');
  const pool = new pg.Pool({ connectionString: database.url, max: 10 });
  // The final DROP DATABASE ... WITH (FORCE) ends connections the pool may still hold.
  pool.on('error', () => undefined);
  const store = new PostgresEventStore(pool);
  const kafka = new KafkaClient({ clientId: 'bench-relay', brokers: await sharedKafka(), logLevel: logLevel.NOTHING });
  const prefixes: string[] = [];
  const prefix = () => {
    const p = `bench${randomBytes(4).toString('hex')}`;
    prefixes.push(p);
    return p;
  };
  try {
    await migrate(pool);
    await migrateKafkaIntegration(pool);
    await fill(store, 0, EVENTS);
    const stored = await store.readAll({ after: 0, maxCount: EVENTS });
    // The raw producer sends exactly what the relay sends, encoded beforehand.
    const batches: Message[][] = [];
    for (let i = 0; i < stored.length; i += BATCH) {
      batches.push(
        stored.slice(i, i + BATCH).map((e) => {
          const { key, value, headers } = toKafkaMessage(e, { topicPrefix: 'raw', source: '/chitti' });
          return { key, value, headers };
        }),
      );
    }
    const warmup = prefix();
    await createTopics(kafka, warmup);
    await timeRaw(kafka, batches.slice(0, 5), `${warmup}.inspections`);

    let relayBest = 0;
    let rawBest = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const rawPrefix = prefix();
      await createTopics(kafka, rawPrefix);
      rawBest = Math.max(rawBest, await timeRaw(kafka, batches, `${rawPrefix}.inspections`));
      relayBest = Math.max(relayBest, await timeRelay(kafka, pool, store, prefix()));
    }
    const lag = await measureLag(kafka, pool, store, prefix());
    const result: RelayBenchResult = {
      events: EVENTS,
      relayEventsPerSec: relayBest,
      rawEventsPerSec: rawBest,
      ratio: relayBest / rawBest,
      lagP50Ms: lag.p50,
      lagP99Ms: lag.p99,
      lagSamples: lag.samples,
    };
    const f = (n: number) => Math.round(n).toLocaleString('en-US');
    console.log(
      `relay bench (${f(EVENTS)} events of ~${batches[0]?.[0]?.value?.length ?? 0} bytes, batches of ${BATCH}, best of ${ROUNDS})`,
    );
    console.log(
      `  relay: ${f(relayBest)} events/s   raw kafkajs producer: ${f(rawBest)} events/s   ratio ${result.ratio.toFixed(2)} (goal >= 0.90, >= 30,000/s)`,
    );
    console.log(
      `  end-to-end lag append -> consumer: p50 ${f(lag.p50)} ms, p99 ${f(lag.p99)} ms over ${f(lag.samples)} events (~200 appends/s)`,
    );
    return result;
  } finally {
    await deleteTopics(kafka, prefixes);
    await store.close();
    await pool.end();
    await database.drop();
  }
}

runIfMain(import.meta.url, main);
