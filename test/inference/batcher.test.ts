import { describe, expect, it } from 'vitest';
import { BatcherClosedError, MicroBatcher } from '../../inference/batcher.js';

/** A run function that records batches and can be held until released. */
function recorder<T>() {
  const batches: T[][] = [];
  let gate: Promise<void> = Promise.resolve();
  let open: () => void = () => {};
  return {
    batches,
    hold() {
      gate = new Promise((resolve) => {
        open = resolve;
      });
    },
    release: () => open(),
    run: async (items: T[]) => {
      batches.push(items);
      await gate;
      return items.map((i) => `r${String(i)}`);
    },
  };
}

describe('MicroBatcher', () => {
  it('dispatches as soon as maxBatch items wait, without waiting for the timer', async () => {
    const r = recorder<number>();
    const batcher = new MicroBatcher({ maxBatch: 3, maxWaitMs: 60_000 }, r.run);
    const results = await Promise.all([1, 2, 3].map((i) => batcher.submit(i)));
    expect(r.batches).toEqual([[1, 2, 3]]);
    expect(results.map((x) => [x.result, x.batchSize])).toEqual([
      ['r1', 3],
      ['r2', 3],
      ['r3', 3],
    ]);
    await batcher.close();
  });

  it('dispatches a partial batch once the oldest item has waited maxWaitMs', async () => {
    const r = recorder<number>();
    const batcher = new MicroBatcher({ maxBatch: 8, maxWaitMs: 30 }, r.run);
    const [a, b] = await Promise.all([batcher.submit(1), batcher.submit(2)]);
    expect(r.batches).toEqual([[1, 2]]);
    expect(a!.batchSize).toBe(2);
    expect(a!.queueMs).toBeGreaterThanOrEqual(25);
    expect(b!.queueMs).toBeGreaterThanOrEqual(20);
    await batcher.close();
  });

  it('keeps gathering while the in-flight limit is reached, then splits by maxBatch', async () => {
    const r = recorder<number>();
    r.hold();
    const batcher = new MicroBatcher({ maxBatch: 3, maxWaitMs: 0, maxInFlight: 1 }, r.run);
    const first = batcher.submit(0);
    await new Promise((resolve) => setImmediate(resolve));
    const rest = [1, 2, 3, 4, 5].map((i) => batcher.submit(i));
    expect(batcher.pending).toBe(5);
    r.release();
    await Promise.all([first, ...rest]);
    expect(r.batches).toEqual([[0], [1, 2, 3], [4, 5]]);
  });

  it('rejects every item of a failed batch and keeps serving', async () => {
    let calls = 0;
    const batcher = new MicroBatcher<number, number>({ maxBatch: 2, maxWaitMs: 60_000 }, async (items) => {
      calls++;
      if (calls === 1) throw new Error('model crashed');
      return items.map((i) => i * 10);
    });
    const failed = await Promise.allSettled([batcher.submit(1), batcher.submit(2)]);
    expect(failed.map((f) => f.status)).toEqual(['rejected', 'rejected']);
    expect((await Promise.all([batcher.submit(3), batcher.submit(4)])).map((b) => b.result)).toEqual([30, 40]);
    const wrongCount = new MicroBatcher<number, number>({ maxBatch: 1, maxWaitMs: 0 }, async () => []);
    await expect(wrongCount.submit(1)).rejects.toThrow(/returned 0 results/);
  });

  it('flushes on close and refuses new items afterwards', async () => {
    const r = recorder<number>();
    const batcher = new MicroBatcher({ maxBatch: 10, maxWaitMs: 60_000 }, r.run);
    const pending = batcher.submit(7);
    await batcher.close();
    expect((await pending).result).toBe('r7');
    await expect(batcher.submit(8)).rejects.toBeInstanceOf(BatcherClosedError);
  });

  it('refuses nonsensical options', () => {
    expect(() => new MicroBatcher({ maxBatch: 0, maxWaitMs: 1 }, async () => [])).toThrow(RangeError);
    expect(() => new MicroBatcher({ maxBatch: 1, maxWaitMs: -1 }, async () => [])).toThrow(RangeError);
  });
});
