import { describe, expect, it } from 'vitest';
import { SharedLogReads } from '../../infra/postgres/shared-log-reads.js';
import type { RecordedEvent } from '../../schemas/events/index.js';

/** A log of positions 1..head, read as the store would: after `after`, at most `maxCount`. */
function log(head: { value: number }) {
  const reads: [number, number][] = [];
  const readAll = async (after: number, maxCount: number) => {
    reads.push([after, maxCount]);
    const events: RecordedEvent[] = [];
    for (let p = after + 1; p <= Math.min(head.value, after + maxCount); p++) {
      events.push({ globalPosition: p } as RecordedEvent);
    }
    return events;
  };
  return { reads, readAll };
}

const positions = (events: readonly RecordedEvent[]) => events.map((e) => e.globalPosition);

describe('shared log reads', () => {
  it('serves readers at or after a running read of the same wake-up from it, one query for all', async () => {
    const head = { value: 10 };
    const { reads, readAll } = log(head);
    const shared = new SharedLogReads(readAll, () => 1);
    const [a, b, c] = await Promise.all([shared.read(6, 100), shared.read(8, 100), shared.read(6, 1)]);
    expect(positions(a)).toEqual([7, 8, 9, 10]);
    expect(positions(b)).toEqual([9, 10]);
    expect(positions(c)).toEqual([7]);
    expect(reads).toEqual([[6, 100]]);
    // A finished read is not reused, even in the same wake-up: a commit nobody announced (the
    // safety poll's case) is still found.
    head.value = 12;
    expect(positions(await shared.read(10, 100))).toEqual([11, 12]);
    expect(reads).toEqual([
      [6, 100],
      [10, 100],
    ]);
  });

  it('reads anew after a wake-up, and never answers "nothing" from a read cut at its count', async () => {
    const head = { value: 10 };
    const { reads, readAll } = log(head);
    let epoch = 1;
    const shared = new SharedLogReads(readAll, () => epoch);
    // Past the end of a cut read: it says nothing about position 4 on, so this reader queries.
    const [cut, past] = await Promise.all([shared.read(0, 3), shared.read(3, 3)]);
    expect(positions(cut)).toEqual([1, 2, 3]);
    expect(positions(past)).toEqual([4, 5, 6]);
    head.value = 12;
    epoch = 2;
    expect(positions(await shared.read(10, 100))).toEqual([11, 12]);
    expect(reads).toEqual([
      [0, 3],
      [3, 3],
      [10, 100],
    ]);
  });

  it('does not share a failed read', async () => {
    let calls = 0;
    const shared = new SharedLogReads(
      async () => {
        calls++;
        if (calls === 1) throw new Error('connection lost');
        return [{ globalPosition: 1 } as RecordedEvent];
      },
      () => 1,
    );
    await expect(shared.read(0, 10)).rejects.toThrow('connection lost');
    expect(positions(await shared.read(0, 10))).toEqual([1]);
  });
});
