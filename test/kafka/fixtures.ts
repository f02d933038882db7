import { randomBytes, randomUUID } from 'node:crypto';
import { type ITopicConfig, Kafka, logLevel } from 'kafkajs';
import type { RecordedEvent } from '../../schemas/events/index.js';

export const SHA = 'a'.repeat(64);
export const MODEL = { name: 'weld-defects', version: '1.0.0', sha256: SHA };
export const THRESHOLDS = { confidence: 0.25, iou: 0.7, maxDetections: 300, classConfidence: {} };

/** A topic prefix of its own per suite, so suites on the shared broker never see each other. */
export const uniquePrefix = (): string => `t${randomBytes(5).toString('hex')}`;

export function testKafka(brokers: string[], clientId = 'chitti-test'): Kafka {
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
}

/** Creates the topics and waits until each partition has a leader. */
export async function createTopics(kafka: Kafka, topics: ITopicConfig[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics });
  await admin.disconnect();
}

/** Deletes the topics, ignoring a failure (suite teardown on a shared broker). */
export async function deleteTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
}

export function inspectionRequested(inspectionId: string) {
  return {
    type: 'InspectionRequested' as const,
    data: {
      inspectionId,
      fileId: `f-${inspectionId}`,
      fileSha256: SHA,
      model: MODEL,
      selection: { reason: 'only-version' as const, roll: null, weights: { '1.0.0': 100 } },
      shadows: [],
      thresholds: THRESHOLDS,
      requestedBy: 'user-1',
    },
  };
}

export function detectionsRecorded(inspectionId: string, classNames: readonly string[]) {
  return {
    type: 'DetectionsRecorded' as const,
    data: {
      inspectionId,
      role: 'live' as const,
      model: MODEL,
      detections: classNames.map((className, i) => ({
        detectionId: `d${i}`,
        classId: i,
        className,
        score: 0.9 - i * 0.01,
        box: { x1: 1, y1: 2, x2: 30, y2: 40 },
      })),
      image: { width: 640, height: 480 },
      window: null,
      thresholds: THRESHOLDS,
      timings: { queueMs: 1, preprocessMs: 2, inferenceMs: 3, postprocessMs: 1 },
      batchSize: 1,
      cached: false,
      tiling: null,
    },
  };
}

/** A stored event as the global log returns it (for encoding tests that need no event store). */
export function recorded(
  event: { type: string; data: unknown },
  at: { streamId: string; streamVersion: number; globalPosition: number; recordedAt?: Date },
): RecordedEvent {
  return {
    globalPosition: at.globalPosition,
    streamId: at.streamId,
    streamVersion: at.streamVersion,
    eventId: randomUUID(),
    type: event.type,
    schemaVersion: event.type === 'InspectionRequested' ? 3 : 1,
    data: event.data,
    metadata: {
      actor: 'user-1',
      correlationId: 'corr-1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    },
    recordedAt: at.recordedAt ?? new Date('2026-11-23T09:00:00.000Z'),
    hash: 'b'.repeat(64),
  };
}

/** Polls until `condition` holds; fails with `what` after timeoutMs. Bounded, never a timed assertion. */
export async function eventually(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface ReadMessage {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  readonly value: string;
  readonly headers: Record<string, string>;
}

/** Reads the topics from the beginning with a throwaway group until `count` messages arrived. */
export async function readTopics(
  kafka: Kafka,
  topics: string[],
  count: number,
  timeoutMs = 30_000,
): Promise<ReadMessage[]> {
  const found: ReadMessage[] = [];
  const reader = kafka.consumer({ groupId: `reader-${randomUUID()}`, maxWaitTimeInMs: 200 });
  await reader.connect();
  try {
    await reader.subscribe({ topics, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ topic, partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
        found.push({
          topic,
          partition,
          key: message.key?.toString() ?? '',
          value: message.value?.toString() ?? '',
          headers,
        });
      },
    });
    await eventually(
      `${count} messages on ${topics.join(', ')} (have ${found.length})`,
      () => found.length >= count,
      timeoutMs,
    );
  } finally {
    await reader.disconnect();
  }
  return found;
}

/** How many messages the topics hold (sum of partition end offsets; topics here are never compacted). */
export async function topicMessageCount(kafka: Kafka, topics: string[]): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    let total = 0;
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) total += Number(p.high) - Number(p.low);
    }
    return total;
  } finally {
    await admin.disconnect();
  }
}
