import type { Thresholds } from '../../schemas/events/index.js';

/** `base` with every defined field of `override` applied (an undefined field keeps the base value). */
export function mergeThresholds(base: Thresholds, override: Partial<Thresholds> | undefined): Thresholds {
  return {
    confidence: override?.confidence ?? base.confidence,
    iou: override?.iou ?? base.iou,
    maxDetections: override?.maxDetections ?? base.maxDetections,
  };
}

export const sameThresholds = (a: Thresholds, b: Thresholds): boolean =>
  a.confidence === b.confidence && a.iou === b.iou && a.maxDetections === b.maxDetections;
