import { describe, expect, it } from 'vitest';
import type { ReportData } from '../../api/reports/report-data.js';
import { identityRows } from '../../api/reports/sections.js';

/** The fields identityRows reads; the rest of a report does not matter here. */
const report = (classConfidence: Record<string, number>) =>
  ({
    inspectionId: 'i1',
    asOf: null,
    covers: { recordedAt: '2026-12-03T00:00:00.000Z' },
    file: null,
    dicom: {},
    pixelSpacingMm: null,
    closure: null,
    request: {
      fileId: 'f1',
      fileSha256: null,
      model: { name: 'weld-defects', version: '2.1.0', sha256: null },
      selection: { reason: 'only-version', roll: null, weights: { '2.1.0': 100 } },
      shadows: [],
      thresholds: { confidence: 0.25, iou: 0.45, maxDetections: 300, classConfidence },
      requestedBy: 'op',
    },
  }) as unknown as ReportData;

const thresholdsRow = (data: ReportData) => identityRows(data).find(([name]) => name === 'Thresholds')?.[1];

describe('report identity rows: thresholds', () => {
  it('show per-class confidences after the global one, by class name, and nothing more without them', () => {
    expect(thresholdsRow(report({ porosity: 0.65, crack: 0.3 }))).toBe(
      'confidence 0.25 (crack 0.3, porosity 0.65), NMS IoU 0.45, max 300 detections',
    );
    expect(thresholdsRow(report({}))).toBe('confidence 0.25, NMS IoU 0.45, max 300 detections');
  });
});
