/** A small, fixed history appended through the real event store, shared by the search suites. */
import type { EventStore } from '../../commands/ports/event-store.js';
import { measureDetections } from '../../domain/inspection/physical-size.js';
import type { NewEvent, PixelSpacingMm } from '../../schemas/events/index.js';

const sha = (c: string) => c.repeat(64);
const thresholds = { confidence: 0.25, iou: 0.7, maxDetections: 300 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const SCENARIO = {
  files: { seam: 'f-seam', bracket: 'f-bracket' },
  inspections: { first: 'i-first', second: 'i-second' },
  operator: 'olga',
  auditor: 'alice-auditor',
  inference: 'system:inference',
  reviewer: 'rita-reviewer',
} as const;

export const uploaded = (fileId: string, originalName: string, tags: string[]): NewEvent => ({
  type: 'FileUploaded',
  data: {
    fileId,
    sha256: sha(fileId === SCENARIO.files.seam ? 'a' : 'b'),
    sizeBytes: 1024,
    mediaType: 'image/png',
    width: 64,
    height: 48,
    bitDepth: 8,
    channels: 1,
    originalName,
    uploadedBy: SCENARIO.operator,
    tags,
  },
  metadata: { actor: SCENARIO.operator },
});

export const requested = (inspectionId: string, fileId: string, version: string): NewEvent => ({
  type: 'InspectionRequested',
  data: {
    inspectionId,
    fileId,
    fileSha256: null,
    model: { name: 'weld-defects', version, sha256: sha('c') },
    selection: { reason: 'explicit', roll: null, weights: { [version]: 100 } },
    shadows: [],
    thresholds,
    requestedBy: SCENARIO.operator,
  },
  metadata: { actor: SCENARIO.operator },
});

export const detectionsRecorded = (
  inspectionId: string,
  version: string,
  detections: { className: string; score: number }[],
  role: 'live' | 'shadow' = 'live',
  /** The file's pixel spacing: the boxes then carry their size in mm, as the processor records them. */
  pixelSpacingMm?: PixelSpacingMm,
): NewEvent => ({
  type: 'DetectionsRecorded',
  data: {
    inspectionId,
    role,
    model: { name: 'weld-defects', version, sha256: sha('c') },
    ...measureDetections(
      detections.map((d, i) => ({
        detectionId: `d${i}`,
        classId: i,
        className: d.className,
        score: d.score,
        box: { x1: i, y1: i, x2: i + 10, y2: i + 10 },
      })),
      pixelSpacingMm,
    ),
    image: { width: 64, height: 48 },
    window: null,
    thresholds,
    timings: { queueMs: 1, preprocessMs: 2, inferenceMs: 3, postprocessMs: 1 },
    batchSize: 1,
    cached: false,
    tiling: null,
  },
  metadata: { actor: SCENARIO.inference, correlationId: `corr-${inspectionId}` },
});

/**
 * Appends the scenario: two files, an inspection of each (different model versions), then a
 * retag of the first file after its detections exist, then an auditor's export.
 * Pauses between steps so time-range queries have distinct boundaries at millisecond precision.
 */
export async function appendScenario(store: EventStore): Promise<void> {
  const { files, inspections } = SCENARIO;
  const any = { expectedVersion: 'any' as const };
  await store.append(`file-${files.seam}`, [uploaded(files.seam, 'weld_seam-01.png', ['pipeline', 'north yard'])], any);
  await store.append(`file-${files.bracket}`, [uploaded(files.bracket, 'bracket_top.jpg', ['casting'])], any);
  await store.append(`inspection-${inspections.first}`, [requested(inspections.first, files.seam, '1.0.0')], any);
  await store.append(
    `inspection-${inspections.first}`,
    [
      detectionsRecorded(inspections.first, '1.0.0', [
        { className: 'crack', score: 0.91 },
        { className: 'porosity', score: 0.55 },
      ]),
    ],
    any,
  );
  await sleep(5);
  await store.append(`inspection-${inspections.second}`, [requested(inspections.second, files.bracket, '2.0.0')], any);
  await store.append(
    `inspection-${inspections.second}`,
    [
      detectionsRecorded(
        inspections.second,
        '2.0.0',
        [
          { className: 'inclusion', score: 0.77 },
          { className: 'crack', score: 0.42 },
        ],
        'live',
        { row: 0.5, column: 0.25 },
      ),
    ],
    any,
  );
  await sleep(5);
  await store.append(
    `file-${files.seam}`,
    [
      {
        type: 'FileTagged',
        data: { fileId: files.seam, added: ['urgent'], removed: ['north yard'], taggedBy: SCENARIO.operator },
        metadata: { actor: SCENARIO.operator },
      },
    ],
    any,
  );
  await store.append(
    'access-2026-11-23',
    [
      {
        type: 'AccessRecorded',
        data: {
          actor: SCENARIO.auditor,
          action: 'audit.export',
          resource: 'inspections/all',
          decision: 'allowed',
          reason: null,
          count: 1,
          window: null,
        },
        metadata: { actor: SCENARIO.auditor },
      },
    ],
    any,
  );
}

export const reviewed = (
  inspectionId: string,
  detectionId: string,
  verdict: 'confirmed' | 'rejected' | 'relabelled',
  newClassName: string | null = null,
): NewEvent => ({
  type: 'DetectionReviewed',
  data: { inspectionId, detectionId, verdict, newClassName, comment: null, reviewer: SCENARIO.reviewer },
  metadata: { actor: SCENARIO.reviewer },
});

/** An acceptance verdict on an inspection (the rules' detail does not matter to search). */
export const evaluated = (inspectionId: string, verdict: 'accept' | 'reject' | 'indeterminate'): NewEvent => ({
  type: 'InspectionEvaluated',
  data: {
    inspectionId,
    profile: { profileId: 'p-weld', name: 'Sample weld profile', revision: 1 },
    verdict,
    pixelSpacingMm: null,
    image: { width: 64, height: 64 },
    detections: [],
    excluded: [],
    rules: [],
    evaluatedBy: SCENARIO.reviewer,
  },
  metadata: { actor: SCENARIO.reviewer },
});
