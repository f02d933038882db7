/** The corners of an axis-aligned box, x1 < x2 and y1 < y2 (any one coordinate space). */
export interface XyxyBox {
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
}

/**
 * Intersection over union of two xyxy boxes (0 when the union is empty), as torchvision computes
 * it: the one definition NMS, tile merging and the shadow-agreement read model share.
 */
export function iou(a: XyxyBox, b: XyxyBox): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const intersection = w * h;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - intersection;
  return union > 0 ? intersection / union : 0;
}
