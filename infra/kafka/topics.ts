import type { Admin } from 'kafkajs';
import { sleep } from './retry.js';

export interface TopicSpec {
  readonly topic: string;
  readonly numPartitions: number;
  /** Omit for the broker's default (1 on the local single node, 3 in production). */
  readonly replicationFactor?: number;
}

export class TopicsNotReadyError extends Error {
  readonly code = 'topics-not-ready';
}

/**
 * Creates the topics that do not exist yet (existing topics are left as they are) and resolves
 * once every partition of every topic has a leader.
 */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[], timeoutMs = 30_000): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length > 0) {
    // Resolves false rather than failing when another process created a topic in between.
    await admin.createTopics({
      waitForLeaders: false,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.numPartitions,
        replicationFactor: s.replicationFactor ?? -1,
      })),
    });
  }
  await waitForLeaders(
    admin,
    specs.map((s) => s.topic),
    timeoutMs,
  );
}

/**
 * kafkajs' own waitForLeaders gives up on UNKNOWN_TOPIC_OR_PARTITION, which a broker may answer
 * for a moment after creating a topic; this waits it out, bounded.
 */
async function waitForLeaders(admin: Admin, topics: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = '';
  for (;;) {
    try {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics: [...topics] });
      const leaderless = metadata.filter((t) => t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0));
      if (leaderless.length === 0) return;
      lastProblem = `no leader yet for ${leaderless.map((t) => t.name).join(', ')}`;
    } catch (error) {
      lastProblem = (error as Error).message;
    }
    if (Date.now() > deadline) throw new TopicsNotReadyError(`topics not ready after ${timeoutMs} ms: ${lastProblem}`);
    await sleep(100);
  }
}
