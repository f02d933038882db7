/** A candidate box in x1, y1, x2, y2 (any one coordinate space). */
export interface Candidate {
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
  readonly score: number;
  readonly classId: number;
}

/** Intersection over union of two xyxy boxes (0 when the union is empty), as torchvision computes it. */
export function iou(a: Candidate, b: Candidate): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const intersection = w * h;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - intersection;
  return union > 0 ? intersection / union : 0;
}

/** Ultralytics' cap on boxes entering NMS (max_nms). */
export const MAX_NMS_CANDIDATES = 30_000;

/**
 * Class-wise greedy non-maximum suppression: in descending score order, a box is dropped when
 * its IoU with an already kept box of the same class exceeds `iouThreshold`. Returns at most
 * `maxDetections` boxes, highest score first — the same result as Ultralytics' class-offset
 * torchvision NMS followed by `[:max_det]`.
 */
export function nonMaxSuppression<C extends Candidate>(
  candidates: readonly C[],
  iouThreshold: number,
  maxDetections: number,
): C[] {
  const ordered = [...candidates].sort((a, b) => b.score - a.score).slice(0, MAX_NMS_CANDIDATES);
  const keptByClass = new Map<number, C[]>();
  const kept: C[] = [];
  for (const candidate of ordered) {
    if (kept.length >= maxDetections) break;
    const sameClass = keptByClass.get(candidate.classId);
    if (sameClass?.some((k) => iou(k, candidate) > iouThreshold)) continue;
    if (sameClass) sameClass.push(candidate);
    else keptByClass.set(candidate.classId, [candidate]);
    kept.push(candidate);
  }
  return kept;
}
