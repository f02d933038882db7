/** Payload builders for hand-written read-model scenarios. */
export const sha = (n: number) => n.toString(16).padStart(64, '0');
export const THRESHOLDS = { confidence: 0.25, iou: 0.7, maxDetections: 300 };

export const requested = (inspectionId: string, fileId: string, version = '1.0.0', shadows: string[] = []) => ({
  inspectionId,
  fileId,
  fileSha256: sha(1),
  model: { name: 'weld', version, sha256: sha(100) },
  selection: { reason: 'explicit', roll: null, weights: { [version]: 100 } },
  shadows: shadows.map((v, i) => ({ name: 'weld', version: v, sha256: sha(200 + i) })),
  thresholds: THRESHOLDS,
  requestedBy: 'olga',
});

export interface TestBox {
  className: string;
  score?: number;
  box: [number, number, number, number];
}

export const recorded = (inspectionId: string, role: 'live' | 'shadow', version: string, boxes: TestBox[]) => ({
  inspectionId,
  role,
  model: { name: 'weld', version, sha256: sha(100) },
  detections: boxes.map((b, i) => ({
    detectionId: `d${i}`,
    classId: ['porosity', 'crack', 'slag'].indexOf(b.className),
    className: b.className,
    score: b.score ?? 0.5,
    box: { x1: b.box[0], y1: b.box[1], x2: b.box[2], y2: b.box[3] },
  })),
  image: { width: 1000, height: 1000 },
  window: null,
  thresholds: THRESHOLDS,
  timings: { queueMs: 5, preprocessMs: 7, inferenceMs: 30, postprocessMs: 2 },
  batchSize: 4,
  cached: false,
});

export const reviewed = (
  inspectionId: string,
  detectionId: string,
  verdict: 'confirmed' | 'rejected' | 'relabelled',
  reviewer = 'rita',
  newClassName: string | null = null,
) => ({ inspectionId, detectionId, verdict, newClassName, comment: null, reviewer });
