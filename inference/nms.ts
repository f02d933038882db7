import { iou } from '../schemas/geometry.js';

/** A candidate box in x1, y1, x2, y2 (any one coordinate space). */
export interface Candidate {
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
  readonly score: number;
  readonly classId: number;
}

export { iou };

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
