import { iou } from '../../schemas/geometry.js';

/** A box as the shadow comparison sees it: class name and corners in original-image pixels. */
export interface LabelledBox {
  readonly className: string;
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
}

export const AGREEMENT_IOU = 0.5;

export { iou };

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
