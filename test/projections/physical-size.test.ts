import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadModelQueries } from '../../projections/queries.js';
import { filesProjection } from '../../projections/read-models/files.js';
import { inspectionsProjection } from '../../projections/read-models/inspections.js';
import { createLogFixture, emit, type LogFixture, projectToHead } from './support.js';

let fx: LogFixture;
let queries: ReadModelQueries;
beforeAll(async () => {
  fx = await createLogFixture(4);
  queries = new ReadModelQueries(fx.pool, fx.store);
});
afterAll(async () => {
  await fx.close();
});

const sha = 'b'.repeat(64);
const file = (fileId: string, extra: object) => ({
  fileId,
  sha256: sha,
  sizeBytes: 99,
  mediaType: 'application/dicom',
  width: 64,
  height: 48,
  bitDepth: 16,
  channels: 1,
  originalName: `${fileId}.dcm`,
  uploadedBy: 'olga',
  tags: [],
  ...extra,
});
const dicom = {
  sopInstanceUid: '1.2.3.4.5',
  sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1',
  transferSyntaxUid: '1.2.840.10008.1.2.1',
  modality: 'DX',
  manufacturer: null,
  manufacturerModelName: null,
  acquired: null,
  rows: 48,
  columns: 64,
  bitsAllocated: 16,
  bitsStored: 16,
  signed: false,
  photometricInterpretation: 'MONOCHROME2',
  presentationLutShape: null,
  rescale: { slope: 1, intercept: 0 },
  voiWindow: null,
  pixelSpacingTag: 'PixelSpacing',
  component: { id: 'W-1', name: null },
};
const requested = (inspectionId: string, fileId: string) => ({
  inspectionId,
  fileId,
  fileSha256: sha,
  model: { name: 'weld-defects', version: '1.1.0', sha256: 'c'.repeat(64) },
  selection: { reason: 'explicit', roll: null, weights: { '1.1.0': 100 } },
  shadows: [],
  thresholds: { confidence: 0.25, iou: 0.45, maxDetections: 300 },
  requestedBy: 'olga',
});
const recorded = (inspectionId: string, extra: { size?: object; pixelSpacingMm?: object }) => ({
  inspectionId,
  role: 'live',
  model: { name: 'weld-defects', version: '1.1.0', sha256: 'c'.repeat(64) },
  detections: [
    {
      detectionId: 'd0',
      classId: 1,
      className: 'crack',
      score: 0.8,
      box: { x1: 0, y1: 0, x2: 40, y2: 4 },
      ...(extra.size ? { size: extra.size } : {}),
    },
  ],
  image: { width: 64, height: 48 },
  window: { low: 10, high: 900 },
  thresholds: { confidence: 0.25, iou: 0.45, maxDetections: 300 },
  timings: { queueMs: 0, preprocessMs: 1, inferenceMs: 2, postprocessMs: 0 },
  batchSize: 1,
  cached: false,
  tiling: null,
  ...(extra.pixelSpacingMm ? { pixelSpacingMm: extra.pixelSpacingMm } : {}),
});

describe('read models show pixel spacing and sizes in mm', () => {
  it('files carry their spacing and DICOM header; detections their size, null when unknown', async () => {
    await emit(fx, 'file-fs', 'FileUploaded', file('fs', { pixelSpacingMm: { row: 0.2, column: 0.2 }, dicom }));
    await emit(fx, 'file-fn', 'FileUploaded', file('fn', {}));
    await emit(fx, 'inspection-is', 'InspectionRequested', requested('is', 'fs'));
    await emit(
      fx,
      'inspection-is',
      'DetectionsRecorded',
      recorded('is', {
        size: { lengthMm: 8, widthMm: 0.8, areaMm2: 6.4 },
        pixelSpacingMm: { row: 0.2, column: 0.2 },
      }),
    );
    await emit(fx, 'inspection-in', 'InspectionRequested', requested('in', 'fn'));
    await emit(fx, 'inspection-in', 'DetectionsRecorded', recorded('in', {}));
    await projectToHead(fx, [filesProjection, inspectionsProjection]);

    expect(await queries.getFile('fs')).toMatchObject({ pixelSpacingMm: { row: 0.2, column: 0.2 }, dicom });
    expect(await queries.getFile('fn')).toMatchObject({ pixelSpacingMm: null, dicom: null });
    const sized = await queries.getInspection('is');
    expect(sized?.detections[0]).toMatchObject({ size: { lengthMm: 8, widthMm: 0.8, areaMm2: 6.4 } });
    expect((await queries.getInspection('in'))?.detections[0]).toMatchObject({ size: null });
    const listed = await queries.listDetections({ className: 'crack' });
    expect(listed.items.map((d) => d.size)).toEqual([null, { lengthMm: 8, widthMm: 0.8, areaMm2: 6.4 }]);
  });
});
