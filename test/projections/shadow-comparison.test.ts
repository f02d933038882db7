import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareDetections, iou, type LabelledBox } from '../../projections/read-models/agreement.js';
import { shadowComparisonProjection } from '../../projections/read-models/shadow-comparison.js';
import { recorded } from './events.js';
import { createLogFixture, emit, type LogFixture, projectToHead, rowsOf } from './support.js';

const box = (className: string, x1: number, y1: number, x2: number, y2: number): LabelledBox => ({
  className,
  x1,
  y1,
  x2,
  y2,
});

describe('agreement between live and shadow boxes', () => {
  it('computes IoU', () => {
    expect(iou(box('a', 0, 0, 10, 10), box('a', 0, 0, 10, 10))).toBe(1);
    expect(iou(box('a', 0, 0, 10, 10), box('a', 5, 0, 15, 10))).toBeCloseTo(50 / 150);
    expect(iou(box('a', 0, 0, 10, 10), box('a', 10, 0, 20, 10))).toBe(0);
  });

  it('matches one-to-one within a class at IoU >= 0.5', () => {
    const live = [box('crack', 0, 0, 10, 10), box('crack', 100, 100, 110, 110), box('pore', 50, 50, 60, 60)];
    const shadow = [
      box('crack', 1, 0, 11, 10), // IoU 9/11 with live[0]
      box('crack', 0, 1, 10, 11), // also overlaps live[0], but live[0] is taken by the better pair
      box('slag', 50, 50, 60, 60), // same place, other class
    ];
    expect(compareDetections(live, shadow)).toEqual({ liveBoxes: 3, shadowBoxes: 3, matched: 1, rate: 2 / 6 });
  });

  it('counts two empty results as full agreement and one empty side as none', () => {
    expect(compareDetections([], []).rate).toBe(1);
    expect(compareDetections([box('a', 0, 0, 1, 1)], []).rate).toBe(0);
  });

  it('rejects a pair just under the IoU threshold', () => {
    // IoU = 5*10 / (100 + 100 - 50) = 1/3 < 0.5
    expect(compareDetections([box('a', 0, 0, 10, 10)], [box('a', 5, 0, 15, 10)]).matched).toBe(0);
  });
});

describe('shadow comparison read model', () => {
  let fx: LogFixture;
  beforeAll(async () => {
    fx = await createLogFixture(4);
  });
  afterAll(async () => {
    await fx.close();
  });

  it('compares whichever of live and shadow arrives first and aggregates per shadow version', async () => {
    const crack = { className: 'crack', box: [0, 0, 10, 10] as [number, number, number, number] };
    const pore = { className: 'porosity', box: [50, 50, 60, 60] as [number, number, number, number] };
    // i1: live first; the shadow finds the crack but misses the pore -> 2·1/(2+1)
    await emit(fx, 'inspection-i1', 'DetectionsRecorded', recorded('i1', 'live', '1.0.0', [crack, pore]));
    await emit(fx, 'inspection-i1', 'DetectionsRecorded', recorded('i1', 'shadow', '2.0.0', [crack]));
    await projectToHead(fx, [shadowComparisonProjection]);
    // i2: shadow first, in an earlier batch than live; full agreement
    await emit(fx, 'inspection-i2', 'DetectionsRecorded', recorded('i2', 'shadow', '2.0.0', [pore]));
    await projectToHead(fx, [shadowComparisonProjection]);
    await emit(fx, 'inspection-i2', 'DetectionsRecorded', recorded('i2', 'live', '1.0.0', [pore]));
    // i3: another shadow version disagrees completely
    await emit(fx, 'inspection-i3', 'DetectionsRecorded', recorded('i3', 'live', '1.0.0', [crack]));
    await emit(fx, 'inspection-i3', 'DetectionsRecorded', recorded('i3', 'shadow', '3.0.0', [pore]));
    // i4: 2.0.0 fails on an inspection; 4.0.0 has only ever failed
    await emit(fx, 'inspection-i4', 'DetectionsRecorded', recorded('i4', 'live', '1.0.0', [crack]));
    for (const version of ['2.0.0', '4.0.0']) {
      await emit(fx, 'inspection-i4', 'ShadowInferenceFailed', {
        inspectionId: 'i4',
        model: { name: 'weld', version, sha256: 'b'.repeat(64) },
        code: 'timeout',
        reason: 'inference took longer than 30000 ms',
      });
    }
    await projectToHead(fx, [shadowComparisonProjection], { batchSize: 1 });

    const comparisons = await rowsOf(
      fx,
      'SELECT inspection_id, shadow_version, live_version, live_boxes, shadow_boxes, matched, agreement FROM read.shadow_comparisons ORDER BY inspection_id',
    );
    expect(comparisons).toEqual([
      {
        inspection_id: 'i1',
        shadow_version: '2.0.0',
        live_version: '1.0.0',
        live_boxes: 2,
        shadow_boxes: 1,
        matched: 1,
        agreement: 2 / 3,
      },
      {
        inspection_id: 'i2',
        shadow_version: '2.0.0',
        live_version: '1.0.0',
        live_boxes: 1,
        shadow_boxes: 1,
        matched: 1,
        agreement: 1,
      },
      {
        inspection_id: 'i3',
        shadow_version: '3.0.0',
        live_version: '1.0.0',
        live_boxes: 1,
        shadow_boxes: 1,
        matched: 0,
        agreement: 0,
      },
    ]);
    const aggregate = await rowsOf(
      fx,
      'SELECT shadow_version, inspections, live_boxes, shadow_boxes, matched, agreement_sum_micro::int AS micro, failures FROM read.shadow_agreement ORDER BY shadow_version',
    );
    expect(aggregate).toEqual([
      {
        shadow_version: '2.0.0',
        inspections: 2,
        live_boxes: 3,
        shadow_boxes: 2,
        matched: 2,
        micro: 1_666_667,
        failures: 1,
      },
      { shadow_version: '3.0.0', inspections: 1, live_boxes: 1, shadow_boxes: 1, matched: 0, micro: 0, failures: 0 },
      { shadow_version: '4.0.0', inspections: 0, live_boxes: 0, shadow_boxes: 0, matched: 0, micro: 0, failures: 1 },
    ]);
  });
});
