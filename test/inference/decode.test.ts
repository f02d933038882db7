import { describe, expect, it } from 'vitest';
import { type DecodeSpec, decodeDetections, OutputShapeError } from '../../inference/decode.js';
import { letterboxGeometry } from '../../inference/letterbox.js';
import { type Candidate, iou, nonMaxSuppression } from '../../inference/nms.js';

const box = (x1: number, y1: number, x2: number, y2: number, score = 1, classId = 0): Candidate => ({
  x1,
  y1,
  x2,
  y2,
  score,
  classId,
});

describe('iou', () => {
  it('matches hand-computed values', () => {
    expect(iou(box(0, 0, 10, 10), box(0, 0, 10, 10))).toBe(1);
    // overlap 5×10 = 50, union 100 + 100 − 50 = 150
    expect(iou(box(0, 0, 10, 10), box(5, 0, 15, 10))).toBeCloseTo(50 / 150, 12);
    // overlap 2×2 = 4, union 16 + 4 − 4 = 16 (box inside box)
    expect(iou(box(0, 0, 4, 4), box(1, 1, 3, 3))).toBe(0.25);
    expect(iou(box(0, 0, 10, 10), box(10, 0, 20, 10))).toBe(0); // touching edges
    expect(iou(box(5, 5, 5, 5), box(5, 5, 5, 5))).toBe(0); // empty boxes
  });
});

describe('nonMaxSuppression', () => {
  it('suppresses same-class overlaps above the threshold, keeps other classes, sorts by score', () => {
    const a = box(0, 0, 10, 10, 0.9, 0);
    const b = box(1, 0, 11, 10, 0.8, 0); // IoU with a = 90/110 = 0.818
    const c = box(1, 0, 11, 10, 0.7, 1); // same place, other class
    const d = box(5, 0, 15, 10, 0.6, 0); // IoU with a = 1/3
    expect(nonMaxSuppression([d, c, b, a], 0.7, 300)).toEqual([a, c, d]);
    expect(nonMaxSuppression([d, c, b, a], 0.85, 300)).toEqual([a, b, c, d]);
    expect(nonMaxSuppression([d, c, b, a], 0.3, 300)).toEqual([a, c]);
    expect(nonMaxSuppression([d, c, b, a], 0.7, 2)).toEqual([a, c]);
  });

  it('compares against kept boxes only (a suppressed box suppresses nothing)', () => {
    const a = box(0, 0, 10, 10, 0.9);
    const b = box(4, 0, 14, 10, 0.8); // IoU(a, b) = 60/140 = 0.43 → suppressed at 0.4
    const c = box(8, 0, 18, 10, 0.7); // IoU(a, c) = 20/180 = 0.11, IoU(b, c) = 0.43
    expect(nonMaxSuppression([a, b, c], 0.4, 10)).toEqual([a, c]);
  });
});

/** A [1, 4+nc, A] head from per-anchor rows [cx, cy, w, h, ...scores]. */
function head(anchors: number[][]): { data: Float32Array; dims: number[] } {
  const rows = anchors[0]!.length;
  const data = new Float32Array(rows * anchors.length);
  anchors.forEach((values, a) => {
    values.forEach((v, r) => {
      data[r * anchors.length + a] = v;
    });
  });
  return { data, dims: [1, rows, anchors.length] };
}

describe('decodeDetections', () => {
  // Source 200×100 into 100×100: r = 0.5, resized 100×50, pad top 25.
  const geometry = letterboxGeometry(200, 100, 100, 100);
  const spec = { layout: 'yolo' as const, classes: ['porosity', 'crack'] };
  const thresholds = { confidence: 0.25, iou: 0.7, maxDetections: 300 };
  const output = head([
    [50, 50, 20, 10, 0.9, 0.1], // xyxy 40,45,60,55 → original ((40−0)/0.5, (45−25)/0.5, ...) = 80,40,120,60
    [52, 50, 20, 10, 0.8, 0.3], // IoU 0.818 with the first, same class → suppressed at 0.7
    [52, 50, 20, 10, 0.2, 0.6], // best class 1 → kept: 84,40,124,60
    [70, 70, 10, 10, 0.25, 0.1], // best score exactly 0.25 → not above the threshold
    [5, 30, 20, 20, 0.5, 0.0], // xyxy −5,20,15,40 → −10,−10,30,30 → clipped 0,0,30,30
  ]);

  it('decodes the raw head, applies class-wise NMS and maps boxes to original pixels', () => {
    expect(decodeDetections(output, 0, spec, thresholds, geometry)).toEqual([
      { detectionId: 'd0', classId: 0, className: 'porosity', score: 0.9, box: { x1: 80, y1: 40, x2: 120, y2: 60 } },
      { detectionId: 'd1', classId: 1, className: 'crack', score: 0.6, box: { x1: 84, y1: 40, x2: 124, y2: 60 } },
      { detectionId: 'd2', classId: 0, className: 'porosity', score: 0.5, box: { x1: 0, y1: 0, x2: 30, y2: 30 } },
    ]);
  });

  it('uses the per-deployment thresholds', () => {
    const loose = decodeDetections(output, 0, spec, { confidence: 0.25, iou: 0.9, maxDetections: 300 }, geometry);
    expect(loose.map((d) => d.score)).toEqual([0.9, 0.8, 0.6, 0.5]);
    const strict = decodeDetections(output, 0, spec, { confidence: 0.55, iou: 0.7, maxDetections: 300 }, geometry);
    expect(strict.map((d) => d.detectionId + d.className)).toEqual(['d0porosity', 'd1crack']);
    const capped = decodeDetections(output, 0, spec, { confidence: 0.25, iou: 0.7, maxDetections: 1 }, geometry);
    expect(capped).toHaveLength(1);
  });

  describe('per-class confidence (issue 9)', () => {
    // One porosity (class 0) and one crack (class 1), both at 0.5, apart.
    const pair = head([
      [20, 50, 10, 10, 0.5, 0.1],
      [80, 50, 10, 10, 0.1, 0.5],
    ]);
    const classesOf = (t: Parameters<typeof decodeDetections>[3], out = pair, s: DecodeSpec = spec) =>
      decodeDetections(out, 0, s, t, geometry).map((d) => [d.className, d.score]);

    it('keeps a class at 0.5 and drops another at 0.5 whose threshold is 0.6; unlisted classes use confidence', () => {
      expect(classesOf({ ...thresholds, classConfidence: { crack: 0.6 } })).toEqual([['porosity', 0.5]]);
      expect(classesOf({ ...thresholds, classConfidence: { porosity: 0.6 } })).toEqual([['crack', 0.5]]);
      expect(classesOf({ ...thresholds, classConfidence: {} })).toEqual([
        ['porosity', 0.5],
        ['crack', 0.5],
      ]);
      // A name the model does not have changes nothing here (the registry refuses it before).
      expect(classesOf({ ...thresholds, classConfidence: { slag: 0.9 } })).toHaveLength(2);
    });

    it('lets a class through below the global confidence when its own threshold is lower', () => {
      expect(classesOf({ ...thresholds, confidence: 0.6 })).toEqual([]);
      expect(classesOf({ ...thresholds, confidence: 0.6, classConfidence: { crack: 0.3 } })).toEqual([['crack', 0.5]]);
    });

    it('a box below its class threshold takes none of the maxDetections places', () => {
      const ranked = head([
        [20, 50, 10, 10, 0.1, 0.55], // crack, the highest score, below crack's 0.6
        [80, 50, 10, 10, 0.5, 0.1], // porosity
      ]);
      const t = { ...thresholds, maxDetections: 1, classConfidence: { crack: 0.6 } };
      expect(classesOf(t, ranked)).toEqual([['porosity', 0.5]]);
    });

    it('applies to an nms=True export too', () => {
      const rows = [
        [10, 45, 30, 55, 0.5, 0],
        [70, 45, 90, 55, 0.5, 1],
      ];
      const nms = { data: new Float32Array(rows.flat()), dims: [1, 2, 6] };
      const nmsSpec = { layout: 'yolo-nms' as const, classes: spec.classes };
      expect(classesOf({ ...thresholds, classConfidence: { crack: 0.6 } }, nms, nmsSpec)).toEqual([['porosity', 0.5]]);
    });
  });

  it('reads the right image of a batch', () => {
    const first = head([[10, 10, 4, 4, 0.9, 0]]);
    const second = head([[20, 60, 4, 4, 0, 0.7]]);
    const batch = { data: new Float32Array([...first.data, ...second.data]), dims: [2, 6, 1] };
    const [d] = decodeDetections(batch, 1, spec, thresholds, geometry);
    expect(d).toMatchObject({ className: 'crack', score: 0.7, box: { x1: 36, y1: 66, x2: 44, y2: 74 } });
  });

  it('decodes an nms=True export and re-applies the deployment IoU', () => {
    const rows = [
      [40, 45, 60, 55, 0.9, 1],
      [42, 45, 62, 55, 0.8, 1], // IoU 0.818 with the first
      [0, 0, 0, 0, 0, 0], // zero padding
    ];
    const nms = { data: new Float32Array(rows.flat()), dims: [1, 3, 6] };
    const nmsSpec = { layout: 'yolo-nms' as const, classes: spec.classes };
    expect(decodeDetections(nms, 0, nmsSpec, thresholds, geometry)).toEqual([
      { detectionId: 'd0', classId: 1, className: 'crack', score: 0.9, box: { x1: 80, y1: 40, x2: 120, y2: 60 } },
    ]);
    expect(decodeDetections(nms, 0, nmsSpec, { ...thresholds, iou: 0.9 }, geometry)).toHaveLength(2);
  });

  it('maps back with the pad actually applied, where scale_boxes would be a pixel off', () => {
    // 333×290 → 320: r = 320/333, resized 320×279 (278.68 rounded), dh = 20.5 → top pad 20
    // (scale_boxes would subtract round(20.66 − 0.1) = 21).
    const g = letterboxGeometry(333, 290, 320, 320);
    expect(g.pad.top).toBe(20);
    const out = head([[160, 30, 320, 20, 0.9, 0]]); // y 20..40 in letterbox pixels
    const [d] = decodeDetections(out, 0, spec, thresholds, g);
    expect(d!.box).toEqual({ x1: 0, y1: 0, x2: 333, y2: Math.round((20 / (320 / 333)) * 100) / 100 });
  });

  it('refuses outputs that do not fit the model spec', () => {
    const wrongRows = head([[1, 2, 3, 4, 0.9]]);
    expect(() => decodeDetections(wrongRows, 0, spec, thresholds, geometry)).toThrow(OutputShapeError);
    expect(() => decodeDetections(output, 1, spec, thresholds, geometry)).toThrow(OutputShapeError);
    const badClass = { data: new Float32Array([0, 0, 1, 1, 0.9, 7]), dims: [1, 1, 6] };
    expect(() => decodeDetections(badClass, 0, { ...spec, layout: 'yolo-nms' }, thresholds, geometry)).toThrow(
      /class id 7/,
    );
  });
});
