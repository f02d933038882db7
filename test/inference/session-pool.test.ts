import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelSessionError, SessionPool } from '../../inference/session-pool.js';
import { syntheticDetector } from './support/onnx-builder.js';

describe('SessionPool', () => {
  let pool: SessionPool;
  let loads = 0;
  const model = () => {
    loads++;
    return syntheticDetector({ imgsz: 32 });
  };
  beforeAll(() => {
    pool = new SessionPool({ intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  });
  afterAll(async () => {
    await pool.close();
  });

  it('creates one session per model key, once, even for concurrent callers', async () => {
    const sessions = await Promise.all([
      pool.load('m1', model, { warmupDims: [1, 3, 32, 32] }),
      pool.load('m1', model),
      pool.load('m1', model),
    ]);
    expect(new Set(sessions).size).toBe(1);
    expect(loads).toBe(1);
    expect(sessions[0].executionProviders).toEqual(['cpu']);
    expect(sessions[0].inputs).toEqual([{ name: 'images', type: 'float32', shape: ['batch', 3, 32, 32] }]);
  });

  it('runs batches in the worker, transferring the input buffer and returning the output', async () => {
    const session = await pool.load('m1', model);
    const input = new Float32Array(2 * 3 * 32 * 32).fill(0.2);
    input.fill(1, 3 * 32 * 32); // second image all white
    const { outputs, inferenceMs } = await session.run(input, [2, 3, 32, 32]);
    expect(input.length).toBe(0); // transferred, not copied
    const [output] = outputs;
    expect(output!.dims).toEqual([2, 6, 16]);
    const score = (image: number, row: number, anchor: number) => output!.data[image * 6 * 16 + row * 16 + anchor]!;
    expect(score(0, 4, 0)).toBeLessThan(0.01); // grey: not bright
    expect(score(1, 4, 0)).toBeGreaterThan(0.99); // white: bright
    expect(score(0, 0, 5)).toBe(12); // cx of anchor (1, 1) at stride 8
    expect(inferenceMs).toBeGreaterThan(0);
  });

  it('copies a view instead of detaching a buffer it does not own', async () => {
    const session = await pool.load('m1', model);
    const backing = new Float32Array(4 + 3 * 32 * 32);
    const view = backing.subarray(4);
    await session.run(view, [1, 3, 32, 32]);
    expect(backing.length).toBe(4 + 3 * 32 * 32);
  });

  it('reports worker-side errors as ModelSessionError and keeps serving', async () => {
    const session = await pool.load('m1', model);
    await expect(session.run(new Float32Array(10), [1, 3, 2, 5])).rejects.toBeInstanceOf(ModelSessionError);
    const ok = await session.run(new Float32Array(3 * 32 * 32), [1, 3, 32, 32]);
    expect(ok.outputs[0]!.dims).toEqual([1, 6, 16]);
  });

  it('keeps the event loop free while a model runs', async () => {
    const session = await pool.load('big', () => syntheticDetector({ imgsz: 256, stride: 4 }));
    // Counts turns of the event loop while the runs are pending. Run in-process, all eight queued
    // runs would execute back to back and the loop would not turn; in the worker it keeps turning.
    // (A 1 ms interval counted time instead of turns: on a fast, idle machine the runs ended
    // within 10 ms and the test failed although the loop was free.)
    let turns = 0;
    let pending = true;
    const spin = () => {
      if (!pending) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    const runs = Array.from({ length: 8 }, () => session.run(new Float32Array(4 * 3 * 256 * 256), [4, 3, 256, 256]));
    await Promise.all(runs);
    pending = false;
    expect(turns).toBeGreaterThan(10);
  });

  it('tries CUDA when asked and falls back to CPU with the reason when it is missing', async () => {
    const cudaPool = new SessionPool({ cuda: true });
    try {
      const session = await cudaPool.load('m-cuda', model);
      if (session.fallbackReason === null) {
        expect(session.executionProviders).toEqual(['cuda', 'cpu']);
      } else {
        expect(session.executionProviders).toEqual(['cpu']);
        expect(session.fallbackReason).toMatch(/cuda/i);
      }
      const { outputs } = await session.run(new Float32Array(3 * 32 * 32), [1, 3, 32, 32]);
      expect(outputs[0]!.dims).toEqual([1, 6, 16]);
    } finally {
      await cudaPool.close();
    }
  });
});
