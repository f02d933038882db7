import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { ImagePool } from '../../inference/image-pool.js';
import { ImageRejectedError } from '../../inference/preprocess.js';
import { pngClaiming } from './support/poison.js';
import { tiffWithLeadingIfd } from './support/tiff.js';

/** A 16-bit greyscale PNG ramp. */
function png16(width: number, height: number): Promise<Buffer> {
  const samples = Uint16Array.from({ length: width * height }, (_, i) => (i * 13) % 65536);
  return sharp(samples, { raw: { width, height, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toBuffer();
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function rejection(work: Promise<unknown>): Promise<ImageRejectedError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ImageRejectedError)) throw new Error(`expected an ImageRejectedError, got ${String(error)}`);
  return error;
}

let pool: ImagePool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('ImagePool', () => {
  // A 16-bit 256×256 image reserves 3 bytes per pixel while decoding (16-bit output + 8-bit image).
  const decodeBytes = 256 * 256 * 3;

  it('never runs more jobs than workers, nor reserves more than the memory budget, and finishes everything', async () => {
    pool = new ImagePool({ workers: 2, memoryBudgetBytes: 2 * decodeBytes });
    const bytes = await png16(256, 256);
    const opened = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const image = await pool!.open(bytes);
        image.release();
        return image;
      }),
    );
    expect(opened.every((image) => image.width === 256 && image.bitDepth === 16)).toBe(true);
    const stats = pool.stats();
    expect(stats.peakJobsRunning).toBeLessThanOrEqual(2);
    expect(stats.peakDecodesRunning).toBeLessThanOrEqual(2);
    expect(stats.memory.peakBytesInFlight).toBeLessThanOrEqual(2 * decodeBytes);
    expect(stats.memory.bytesInFlight).toBe(0);
  });

  it('makes a decode wait while open images hold the budget, and admits it on release', async () => {
    // Room for one decode next to one open image, not next to two.
    const budget = decodeBytes + 256 * 256;
    pool = new ImagePool({ workers: 2, memoryBudgetBytes: budget });
    const bytes = await png16(256, 256);
    const first = await pool.open(bytes);
    const second = await pool.open(bytes);
    // Each open image keeps its 8-bit pixels reserved: 2 × 65536 of the budget.
    expect(pool.stats().memory.bytesInFlight).toBe(2 * 256 * 256);
    let thirdOpened = false;
    const third = pool.open(bytes).then((image) => {
      thirdOpened = true;
      return image;
    });
    await until(() => pool!.stats().memory.waiting === 1);
    expect(thirdOpened).toBe(false);
    first.release();
    (await third).release();
    second.release();
    expect(pool.stats().memory.bytesInFlight).toBe(0);
    expect(pool.stats().memory.peakBytesInFlight).toBeLessThanOrEqual(budget);
  });

  it('admits one image larger than the whole budget alone instead of refusing it', async () => {
    pool = new ImagePool({ workers: 2, memoryBudgetBytes: 1000 });
    const image = await pool.open(await png16(128, 64));
    expect(image.pixels.length).toBe(128 * 64);
    image.release();
  });

  it('shares the decoded pixels with the caller (no copy per thread) and letterboxes/tiles in the worker', async () => {
    pool = new ImagePool();
    const image = await pool.open(await png16(200, 100));
    expect(image.pixels.buffer).toBeInstanceOf(SharedArrayBuffer);
    const { tensor, geometry } = await pool.letterbox(image, { width: 64, height: 64 });
    expect(tensor.length).toBe(3 * 64 * 64);
    expect(geometry.resized).toEqual({ width: 64, height: 32 });
    image.release();
  });

  it('refuses a truncated TIFF whose header is intact, and more pixels than the shared limit', async () => {
    pool = new ImagePool({ maxPixels: 1_000_000 });
    const tiff = tiffWithLeadingIfd(256, 256, 16);
    expect((await pool.verify(tiff)).width).toBe(256);
    const truncated = tiff.subarray(0, tiff.length / 2);
    expect((await pool.probe(truncated)).width).toBe(256); // the header alone looks fine
    expect((await rejection(pool.verify(truncated))).code).toBe('corrupt-image');
    expect((await rejection(pool.open(truncated))).code).toBe('corrupt-image');
    expect((await rejection(pool.verify(pngClaiming(1001, 1000)))).code).toBe('decompression-bomb');
    expect((await rejection(pool.open(pngClaiming(1001, 1000)))).code).toBe('decompression-bomb');
    expect(pool.stats().memory.bytesInFlight).toBe(0);
  });
});
