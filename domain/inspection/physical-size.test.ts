import { describe, expect, it } from 'vitest';
import type { Detection } from '../../schemas/events/index.js';
import { boxSizeMm, measureDetections } from './physical-size.js';

const detection = (box: Detection['box'], className = 'crack'): Detection => ({
  detectionId: 'd0',
  classId: 1,
  className,
  score: 0.9,
  box,
});

describe('boxSizeMm', () => {
  it('takes the longer side as the length along the indication, whichever axis it lies on', () => {
    const spacing = { row: 0.1, column: 0.1 };
    expect(boxSizeMm({ x1: 10, y1: 20, x2: 110, y2: 24 }, spacing)).toEqual({ lengthMm: 10, widthMm: 0.4, areaMm2: 4 });
    expect(boxSizeMm({ x1: 10, y1: 20, x2: 14, y2: 120 }, spacing)).toEqual({ lengthMm: 10, widthMm: 0.4, areaMm2: 4 });
  });

  it('uses the column spacing across x and the row spacing along y', () => {
    // 50 px wide at 0.2 mm = 10 mm; 40 px tall at 0.05 mm = 2 mm.
    expect(boxSizeMm({ x1: 0, y1: 0, x2: 50, y2: 40 }, { row: 0.05, column: 0.2 })).toEqual({
      lengthMm: 10,
      widthMm: 2,
      areaMm2: 20,
    });
  });

  it('rounds to a micrometre and never goes negative for a degenerate box', () => {
    expect(boxSizeMm({ x1: 0, y1: 0, x2: 1 / 3, y2: 7.77777 }, { row: 0.1, column: 0.1 })).toEqual({
      lengthMm: 0.778,
      widthMm: 0.033,
      areaMm2: 0.0259,
    });
    expect(boxSizeMm({ x1: 5, y1: 5, x2: 4, y2: 9 }, { row: 1, column: 1 })).toEqual({
      lengthMm: 4,
      widthMm: 0,
      areaMm2: 0,
    });
  });
});

describe('measureDetections', () => {
  it('adds a size to every detection and records the spacing used', () => {
    const spacing = { row: 0.2, column: 0.2 };
    const measured = measureDetections([detection({ x1: 0, y1: 0, x2: 10, y2: 5 }, 'porosity')], spacing);
    expect(measured).toEqual({
      detections: [
        { ...detection({ x1: 0, y1: 0, x2: 10, y2: 5 }, 'porosity'), size: { lengthMm: 2, widthMm: 1, areaMm2: 2 } },
      ],
      pixelSpacingMm: spacing,
    });
  });

  it('without a spacing: no sizes and no spacing, never a guess', () => {
    const measured = measureDetections(
      [{ ...detection({ x1: 0, y1: 0, x2: 10, y2: 5 }), size: { lengthMm: 1, widthMm: 1, areaMm2: 1 } }],
      undefined,
    );
    expect(measured).toEqual({ detections: [detection({ x1: 0, y1: 0, x2: 10, y2: 5 })] });
    expect('pixelSpacingMm' in measured).toBe(false);
  });
});
