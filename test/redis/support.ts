import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/** The real Redis the suites run against. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A prefix no other run uses, so suites share one Redis without seeing each other. */
export const uniquePrefix = (what: string): string => `chitti-test:${what}:${randomBytes(6).toString('hex')}:`;

export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/** A clock the test moves by hand: sliding-window edges are checked exactly, with no sleeping. */
export class ManualClock {
  constructor(public now = 1_000_000) {}
  readonly read = (): number => this.now;
}
