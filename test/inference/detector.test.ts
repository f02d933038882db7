import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Detector, type ServedModel } from '../../inference/detector.js';
import { ImagePool } from '../../inference/image-pool.js';
import { inspectModel } from '../../inference/model-store.js';
import { SessionPool } from '../../inference/session-pool.js';
import { syntheticDetector } from './support/onnx-builder.js';

const thresholds = { confidence: 0.25, iou: 0.7, maxDetections: 300 };

/** 64×64 grey image with a white 8×8 square on stride-8 cell (col, row). */
function squareAt(col: number, row: number): Promise<Buffer> {
  const pixels = Buffer.alloc(64 * 64, 51);
  for (let y = row * 8; y < row * 8 + 8; y++) pixels.fill(255, y * 64 + col * 8, y * 64 + col * 8 + 8);
  return sharp(pixels, { raw: { width: 64, height: 64, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
}

describe('Detector', () => {
  let pool: SessionPool;
  let images: ImagePool;
  let dynamic: { model: ServedModel; bytes: Buffer };
  let fixed: { model: ServedModel; bytes: Buffer };

  beforeAll(async () => {
    pool = new SessionPool();
    images = new ImagePool();
    const dynamicBytes = syntheticDetector({ imgsz: 64 });
    const fixedBytes = syntheticDetector({ imgsz: 64, batch: 1 });
    dynamic = { model: { ...(await inspectModel(dynamicBytes, { pool })), tiling: null }, bytes: dynamicBytes };
    fixed = { model: { ...(await inspectModel(fixedBytes, { pool })), tiling: null }, bytes: fixedBytes };
  });
  afterAll(async () => {
    await pool.close();
    await images.close();
  });

  const bytesOf = async (sha: string) => (sha === dynamic.model.sha256 ? dynamic.bytes : fixed.bytes);

  it('batches concurrent requests for one model and returns each image its own boxes', async () => {
    const detector = new Detector(pool, images, bytesOf, { maxBatch: 4, maxWaitMs: 10_000 });
    const cells = [
      [0, 0],
      [3, 1],
      [7, 7],
      [5, 2],
    ] as const;
    const prepared = await Promise.all(cells.map(async ([c, r]) => detector.open(await squareAt(c, r))));
    const results = await Promise.all(prepared.map((p) => detector.detect(p, dynamic.model, thresholds)));
    for (const [i, [c, r]] of cells.entries()) {
      expect(results[i]!.batchSize).toBe(4);
      expect(results[i]!.detections.map((d) => [d.className, d.box])).toEqual([
        ['bright', { x1: c * 8, y1: r * 8, x2: c * 8 + 8, y2: r * 8 + 8 }],
      ]);
      expect(results[i]!.timings.queueMs).toBeGreaterThanOrEqual(0);
    }
    await detector.close();
  });

  it('never batches beyond a fixed export batch', async () => {
    const detector = new Detector(pool, images, bytesOf, { maxBatch: 8, maxWaitMs: 5 });
    const prepared = await detector.open(await squareAt(1, 1));
    const results = await Promise.all([1, 2, 3].map(() => detector.detect(prepared, fixed.model, thresholds)));
    expect(results.map((r) => r.batchSize)).toEqual([1, 1, 1]);
    expect(results[2]!.detections).toHaveLength(1);
    await detector.close();
  });

  it('windows a 16-bit radiograph and records the window', async () => {
    const detector = new Detector(pool, images, bytesOf, { maxBatch: 1, maxWaitMs: 0 });
    // Background: a pixel checkerboard of 1000 and 30000 (cell mean ≈ 0.25 after windowing: no class fires).
    const samples = Uint16Array.from({ length: 64 * 64 }, (_, i) =>
      (i + Math.floor(i / 64)) % 2 === 0 ? 1000 : 30000,
    );
    for (let y = 16; y < 24; y++) samples.fill(60000, y * 64 + 40, y * 64 + 48);
    const png16 = await sharp(samples, { raw: { width: 64, height: 64, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toBuffer();
    const result = await detector.detect(await detector.open(png16), dynamic.model, thresholds);
    expect(result.window).toEqual({ low: 1000, high: 60000 });
    expect(result.detections.map((d) => d.box)).toEqual([{ x1: 40, y1: 16, x2: 48, y2: 24 }]);
    await detector.close();
  });

  it('gets a fresh session when the model worker is gone', async () => {
    const detector = new Detector(pool, images, bytesOf, { maxBatch: 1, maxWaitMs: 0 });
    const prepared = await detector.open(await squareAt(2, 2));
    await detector.detect(prepared, dynamic.model, thresholds);
    await pool.release(dynamic.model.sha256);
    const again = await detector.detect(prepared, dynamic.model, thresholds);
    expect(again.detections).toHaveLength(1);
    expect(pool.has(dynamic.model.sha256)).toBe(true);
    await detector.close();
  });
});
