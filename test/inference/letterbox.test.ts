import { describe, expect, it } from 'vitest';
import { letterboxGeometry, letterboxPlanar, letterboxTensor, roundHalfEven } from '../../inference/letterbox.js';

describe('letterboxGeometry (Ultralytics LetterBox arithmetic)', () => {
  // [w, h, W, H] → r, resized, pad, from r = min(H/h, W/w); new = round(w·r), round(h·r)
  // (Python round: half to even); top = round(dh − 0.1), bottom = round(dh + 0.1), dh = (H − newH)/2.
  const cases: [number[], { r: number; size: number[]; pad: number[] }][] = [
    [[640, 480, 640, 640], { r: 1, size: [640, 480], pad: [80, 80, 0, 0] }],
    // 333·0.63936 = 212.907 → 213; dh = 213.5 → top 213, bottom 214
    [[1001, 333, 640, 640], { r: 640 / 1001, size: [640, 213], pad: [213, 214, 0, 0] }],
    [[5, 3, 2, 2], { r: 0.4, size: [2, 1], pad: [0, 1, 0, 0] }],
    // 5·0.5 = 2.5 → 2 (half to even, where Math.round gives 3)
    [[5, 2, 10, 1], { r: 0.5, size: [2, 1], pad: [0, 0, 4, 4] }],
    // 7·0.5 = 3.5 → 4
    [[7, 2, 10, 1], { r: 0.5, size: [4, 1], pad: [0, 0, 3, 3] }],
    [[1, 1, 640, 640], { r: 640, size: [640, 640], pad: [0, 0, 0, 0] }],
    // 333·0.25574 = 85.163 → 85; dw = 117.5 → left 117, right 118
    [[333, 1001, 320, 256], { r: 256 / 1001, size: [85, 256], pad: [0, 0, 117, 118] }],
    [[1920, 1080, 640, 640], { r: 1 / 3, size: [640, 360], pad: [140, 140, 0, 0] }],
    [[3000, 4000, 640, 640], { r: 0.16, size: [480, 640], pad: [0, 0, 80, 80] }],
  ];
  it.each(cases)('%j', ([w, h, W, H], expected) => {
    const g = letterboxGeometry(w!, h!, W!, H!);
    expect(g.ratio).toBeCloseTo(expected.r, 12);
    expect([g.resized.width, g.resized.height]).toEqual(expected.size);
    expect([g.pad.top, g.pad.bottom, g.pad.left, g.pad.right]).toEqual(expected.pad);
    expect(g.resized.width + g.pad.left + g.pad.right).toBe(W);
    expect(g.resized.height + g.pad.top + g.pad.bottom).toBe(H);
  });

  it('rounds halves to even like Python', () => {
    expect([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, 4, 0, -2, 2, 3]);
  });

  it('keeps at least one pixel for extreme aspect ratios', () => {
    const g = letterboxGeometry(8, 1, 4, 1); // round(1 · 0.5) = 0 in Ultralytics
    expect(g.resized).toEqual({ width: 4, height: 1 });
  });

  it('refuses non-positive sizes', () => {
    expect(() => letterboxGeometry(0, 10, 640, 640)).toThrow(RangeError);
    expect(() => letterboxGeometry(10, 10, 640.5, 640)).toThrow(RangeError);
  });
});

describe('letterboxPlanar (cv2 INTER_LINEAR, half-pixel centres)', () => {
  it('upsamples ×2 with edge clamping', () => {
    // x → source (x + 0.5)/2 − 0.5: −0.25 (clamped) 0.25 0.75 1.25 1.75 2.25 2.75 3.25 (clamped)
    const g = letterboxGeometry(4, 1, 8, 2);
    const out = letterboxPlanar(Uint8Array.from([0, 100, 200, 50]), 1, g);
    const row = [0, 25, 75, 125, 175, 163, 88, 50];
    expect([...out.subarray(0, 16)]).toEqual([...row, ...row]);
    expect([...out.subarray(16, 32)]).toEqual([...row, ...row]); // grey replicated to G
  });

  it('downsamples ×2 as the mean of pixel pairs', () => {
    const g = letterboxGeometry(8, 2, 4, 1);
    const row = [0, 100, 200, 50, 10, 20, 30, 40];
    const out = letterboxPlanar(Uint8Array.from([...row, ...row]), 1, g);
    expect([...out.subarray(0, 4)]).toEqual([50, 125, 15, 35]);
  });

  it('pads with 114 around the resized image and keeps RGB planes apart', () => {
    // 2×1 RGB image → 2×4 target: r = min(4/1, 2/2) = 1, no resize, dh = 1.5 → top 1, bottom 2.
    const g = letterboxGeometry(2, 1, 2, 4);
    const out = letterboxPlanar(Uint8Array.from([10, 20, 30, 40, 50, 60]), 3, g);
    expect([...out.subarray(0, 8)]).toEqual([114, 114, 10, 40, 114, 114, 114, 114]);
    expect([...out.subarray(8, 16)]).toEqual([114, 114, 20, 50, 114, 114, 114, 114]);
    expect([...out.subarray(16, 24)]).toEqual([114, 114, 30, 60, 114, 114, 114, 114]);
  });

  it('writes the float tensor as the 8-bit result /255', () => {
    const g = letterboxGeometry(4, 1, 8, 2);
    const pixels = Uint8Array.from([0, 100, 200, 50]);
    const planar = letterboxPlanar(pixels, 1, g);
    const tensor = letterboxTensor(pixels, 1, g);
    expect([...tensor]).toEqual([...planar].map((v) => Math.fround(v / 255)));
    const padded = letterboxTensor(Uint8Array.from([255, 255, 255]), 3, letterboxGeometry(1, 1, 1, 3));
    expect([...padded.subarray(0, 3)].map((v) => Math.round(v * 255))).toEqual([114, 255, 114]);
  });
});
