import { DEFAULT_THRESHOLDS, type Thresholds } from '../../schemas/events/index.js';
import type { ModelVersionState } from './state.js';

/** `base` with every defined field of `override` applied (an undefined field keeps the base value). */
export function mergeThresholds(base: Thresholds, override: Partial<Thresholds> | undefined): Thresholds {
  return {
    confidence: override?.confidence ?? base.confidence,
    iou: override?.iou ?? base.iou,
    maxDetections: override?.maxDetections ?? base.maxDetections,
  };
}

/** A version's thresholds: its latest live deployment's, else those it was registered with, else the global defaults. */
export const versionThresholds = (version: ModelVersionState): Thresholds =>
  version.thresholds ?? version.registration.thresholds ?? DEFAULT_THRESHOLDS;

export const sameThresholds = (a: Thresholds, b: Thresholds): boolean =>
  a.confidence === b.confidence && a.iou === b.iou && a.maxDetections === b.maxDetections;
