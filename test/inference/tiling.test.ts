import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Detector, type ServedModel } from '../../inference/detector.js';
import { ImagePool } from '../../inference/image-pool.js';
import { inspectModel } from '../../inference/model-store.js';
import { SessionPool } from '../../inference/session-pool.js';
import { mergeTileCandidates, type TileCandidate } from '../../inference/tile-merge.js';
import { planInput, tileOrigins } from '../../inference/tiling.js';
import type { Tiling } from '../../schemas/events/index.js';
import { brightBoundsDetector } from './support/onnx-builder.js';

const thresholds = { confidence: 0.25, iou: 0.45, maxDetections: 300 };
const tiling: Tiling = { overlapPx: 16, mmPerInputPixel: null, maxLetterboxShrink: 1 };

describe('tile plan', () => {
  it('covers the axis with the fewest tiles, overlapping by at least the overlap, the last ending at the border', () => {
    for (const [length, tile, overlap] of [
      [400, 64, 16],
      [300, 64, 16],
      [10_000, 320, 64],
      [321, 320, 64],
      [65, 64, 0],
    ] as const) {
      const xs = tileOrigins(length, tile, overlap);
      expect(xs[0]).toBe(0);
      expect(xs.at(-1)).toBe(length - tile);
      for (let i = 1; i < xs.length; i++) expect(xs[i - 1]! + tile - xs[i]!).toBeGreaterThanOrEqual(overlap);
      // One tile fewer could not keep that overlap.
      expect((xs.length - 1) * (tile - overlap) + overlap).toBeLessThan(length);
    }
    expect(tileOrigins(50, 64, 16)).toEqual([0]);
  });

  it('letterboxes without tiling, for images within maxLetterboxShrink, and for small images', () => {
    const input = { width: 320, height: 320 };
    expect(planInput({ width: 5000, height: 4000 }, input, null, null).kind).toBe('letterbox');
    const bundled = { overlapPx: 64, mmPerInputPixel: null, maxLetterboxShrink: 1.5 };
    expect(planInput({ width: 352, height: 288 }, input, bundled, null).kind).toBe('letterbox');
    expect(planInput({ width: 100, height: 80 }, input, bundled, null).kind).toBe('letterbox');
    expect(planInput({ width: 481, height: 300 }, input, bundled, null).kind).toBe('tiles');
  });

  it('scales to the target mm per input pixel when the pixel spacing is known, else native', () => {
    const input = { width: 320, height: 320 };
    const atTenth = { overlapPx: 32, mmPerInputPixel: 0.1, maxLetterboxShrink: 1 };
    const scaled = planInput({ width: 1000, height: 1000 }, input, atTenth, 0.2);
    expect(scaled.kind === 'tiles' && scaled.plan).toMatchObject({ scale: 2, scaled: { width: 2000, height: 2000 } });
    const native = planInput({ width: 1000, height: 1000 }, input, atTenth, null);
    expect(native.kind === 'tiles' && native.plan).toMatchObject({ scale: 1, scaled: { width: 1000, height: 1000 } });
  });
});

describe('merging boxes across tile borders', () => {
  const none = { left: false, top: false, right: false, bottom: false };
  const box = (
    x1: number,
    y1: number,
    x2: number,
    y2: number,
    cut: Partial<TileCandidate['cut']> = {},
    classId = 0,
  ) => ({
    x1,
    y1,
    x2,
    y2,
    score: 0.9,
    classId,
    cut: { ...none, ...cut },
  });

  it('joins the two pieces of a crack cut by a tile edge into one box', () => {
    const merged = mergeTileCandidates(
      [box(100, 50, 164, 56, { right: true }), box(148, 50, 260, 57, { left: true })],
      0.45,
      300,
    );
    expect(merged).toEqual([{ x1: 100, y1: 50, x2: 260, y2: 57, score: 0.9, classId: 0 }]);
  });

  it('keeps apart boxes of another class, boxes that do not touch, and boxes cut by no edge', () => {
    const pieces = [
      box(100, 50, 164, 56, { right: true }),
      box(148, 50, 260, 57, { left: true }, 1),
      box(170, 50, 200, 56, { left: true }),
      box(10, 10, 20, 20),
      box(15, 12, 30, 22),
    ];
    expect(mergeTileCandidates(pieces, 0.45, 300)).toHaveLength(5);
  });
});

/**
 * A 400×300 grey image with bright rectangles (class "bright" for the bounds detector), tiled in
 * 64-px tiles overlapping by 16: columns start at 0, 48, ..., 336; rows at 0, 47, 94, 141, 188, 236.
 */
async function radiograph(defects: readonly (readonly [number, number, number, number])[]): Promise<Buffer> {
  const width = 400;
  const height = 300;
  const pixels = Buffer.alloc(width * height, 60);
  for (const [x1, y1, x2, y2] of defects) {
    for (let y = y1; y < y2; y++) pixels.fill(240, y * width + x1, y * width + x2);
  }
  return sharp(pixels, { raw: { width, height, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
}

describe('tiled detection', () => {
  let sessions: SessionPool;
  let images: ImagePool;
  let detector: Detector;
  let model: ServedModel;

  beforeAll(async () => {
    sessions = new SessionPool();
    images = new ImagePool();
    const bytes = brightBoundsDetector(64);
    model = { ...(await inspectModel(bytes, { pool: sessions })), tiling };
    detector = new Detector(sessions, images, async () => bytes, { maxBatch: 4, maxWaitMs: 2 });
  });
  afterAll(async () => {
    await detector?.close();
    await sessions?.close();
    await images?.close();
  });

  const detect = async (bytes: Buffer, served = model, pixelSpacingMm: number | null = null) => {
    const opened = await detector.open(bytes);
    try {
      return await detector.detect(opened, served, thresholds, { pixelSpacingMm });
    } finally {
      opened.image.release();
    }
  };

  it('finds one box per defect, in original coordinates, on tile borders, corners and across many tiles', async () => {
    const defects = [
      [58, 20, 70, 30], // across the border of columns 0 and 1 (column 1 sees it whole)
      [188, 138, 212, 162], // on the corner of four tiles, whole in none of them
      [20, 250, 380, 256], // a crack through every column, cut by the edge between rows 4 and 5 too
      [296, 60, 310, 70], // in the overlap of columns 5 and 6 and of rows 0 and 1
    ] as const;
    const result = await detect(await radiograph(defects));
    expect(result.tiling).toEqual({
      tileSize: { width: 64, height: 64 },
      overlapPx: 16,
      scale: 1,
      grid: { columns: 8, rows: 6 },
      tiles: 48,
    });
    const boxes = result.detections.map((d) => [d.box.x1, d.box.y1, d.box.x2, d.box.y2]);
    expect(boxes.sort((a, b) => a[0]! - b[0]!)).toEqual([...defects].map((d) => [...d]).sort((a, b) => a[0]! - b[0]!));
    expect(result.detections.map((d) => d.detectionId)).toEqual(['d0', 'd1', 'd2', 'd3']);
    expect(result.batchSize).toBeGreaterThanOrEqual(1);
  });

  it('filters the boxes of every tile at their class threshold, a class entry below confidence included (issue 9)', async () => {
    const image = await radiograph([[58, 20, 70, 30]] as const);
    const run = async (t: typeof thresholds & { classConfidence?: Record<string, number> }) => {
      const opened = await detector.open(image);
      try {
        return (await detector.detect(opened, model, t)).detections.map((d) => [d.className, d.box.x1, d.box.x2]);
      } finally {
        opened.image.release();
      }
    };
    // The detector scores its box 1: a class threshold of 1 drops it (kept only above it)…
    expect(await run({ ...thresholds, classConfidence: { bright: 1 } })).toEqual([]);
    // …and a class threshold under a global confidence of 1 keeps it, joined across the tile border.
    expect(await run({ ...thresholds, confidence: 1 })).toEqual([]);
    expect(await run({ ...thresholds, confidence: 1, classConfidence: { bright: 0.5 } })).toEqual([['bright', 58, 70]]);
  });

  it('maps boxes back through the scale when the pixel spacing sets one', async () => {
    const defects = [[90, 100, 130, 110]] as const; // across column borders at scale 2
    const atHalfSpacing: ServedModel = { ...model, tiling: { ...tiling, mmPerInputPixel: 0.1 } };
    const result = await detect(await radiograph(defects), atHalfSpacing, 0.2);
    expect(result.tiling).toMatchObject({ scale: 2, grid: { columns: 17, rows: 13 } });
    expect(result.detections).toHaveLength(1);
    const { box } = result.detections[0]!;
    for (const [got, want] of [
      [box.x1, 90],
      [box.y1, 100],
      [box.x2, 130],
      [box.y2, 110],
    ] as const) {
      expect(Math.abs(got - want)).toBeLessThanOrEqual(1);
    }
  });

  it('letterboxes an image no larger than a tile as before, and records no tiling', async () => {
    const small = await sharp(Buffer.alloc(60 * 40, 60), { raw: { width: 60, height: 40, channels: 1 } })
      .composite([
        {
          input: { create: { width: 10, height: 6, channels: 3, background: { r: 240, g: 240, b: 240 } } },
          left: 20,
          top: 12,
        },
      ])
      .png()
      .toBuffer();
    const result = await detect(small);
    expect(result.tiling).toBeNull();
    expect(result.detections).toHaveLength(1);
    const { box } = result.detections[0]!;
    expect(Math.abs(box.x1 - 20)).toBeLessThanOrEqual(1);
    expect(Math.abs(box.x2 - 30)).toBeLessThanOrEqual(1);
  });
});
