/** A box as the shadow comparison sees it: class name and corners in original-image pixels. */
export interface LabelledBox {
  readonly className: string;
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
}

export const AGREEMENT_IOU = 0.5;

export function iou(a: LabelledBox, b: LabelledBox): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}

export interface Agreement {
  readonly liveBoxes: number;
  readonly shadowBoxes: number;
  /** One-to-one pairs of the same class with IoU >= 0.5. */
  readonly matched: number;
  /** Share of all boxes (live and shadow) that found a partner: 2·matched / (live + shadow); 1 when both are empty. */
  readonly rate: number;
}

/**
 * Greedy one-to-one matching, best IoU first, only within a class — the way detection metrics
 * pair predictions; ties resolve by input order so the result is deterministic.
 */
export function compareDetections(live: readonly LabelledBox[], shadow: readonly LabelledBox[]): Agreement {
  const pairs: { l: number; s: number; iou: number }[] = [];
  live.forEach((l, li) => {
    shadow.forEach((s, si) => {
      if (l.className !== s.className) return;
      const overlap = iou(l, s);
      if (overlap >= AGREEMENT_IOU) pairs.push({ l: li, s: si, iou: overlap });
    });
  });
  pairs.sort((a, b) => b.iou - a.iou || a.l - b.l || a.s - b.s);
  const usedLive = new Set<number>();
  const usedShadow = new Set<number>();
  let matched = 0;
  for (const pair of pairs) {
    if (usedLive.has(pair.l) || usedShadow.has(pair.s)) continue;
    usedLive.add(pair.l);
    usedShadow.add(pair.s);
    matched++;
  }
  const total = live.length + shadow.length;
  return { liveBoxes: live.length, shadowBoxes: shadow.length, matched, rate: total === 0 ? 1 : (2 * matched) / total };
}
