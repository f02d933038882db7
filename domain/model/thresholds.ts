import { DEFAULT_THRESHOLDS, type Thresholds, type ThresholdsOverride } from '../../schemas/events/index.js';
import { DomainRuleViolation } from '../errors.js';
import type { ModelVersionState } from './state.js';

/**
 * `base` with every defined field of `override` applied (an undefined field keeps the base value).
 *
 * `classConfidence`, when the override gives it, replaces the base's whole map; it is not merged
 * per class. A per-class map is chosen as a whole (choose_thresholds.py prints one for the
 * validation split, each class's value fixed against the others' share of false positives), so a
 * deployment states the whole set it serves with and the recorded event shows it; merging per key
 * would leave no way to drop one class's entry back to `confidence` short of a removal marker, and
 * would let an entry chosen against an older map linger unseen. `{}` clears the map; leaving
 * `classConfidence` out keeps the base's map, so a deployment that changes only `confidence`,
 * `iou` or `maxDetections` keeps the per-class entries (which then still win over `confidence`).
 */
export function mergeThresholds(base: Thresholds, override: ThresholdsOverride | undefined): Thresholds {
  return {
    confidence: override?.confidence ?? base.confidence,
    iou: override?.iou ?? base.iou,
    maxDetections: override?.maxDetections ?? base.maxDetections,
    classConfidence: { ...(override?.classConfidence ?? base.classConfidence) },
  };
}

/** A version's thresholds: its latest live deployment's, else those it was registered with, else the global defaults. */
export const versionThresholds = (version: ModelVersionState): Thresholds =>
  version.thresholds ?? version.registration.thresholds ?? DEFAULT_THRESHOLDS;

export const sameThresholds = (a: Thresholds, b: Thresholds): boolean =>
  a.confidence === b.confidence &&
  a.iou === b.iou &&
  a.maxDetections === b.maxDetections &&
  sameClassConfidence(a.classConfidence, b.classConfidence);

function sameClassConfidence(a: Thresholds['classConfidence'], b: Thresholds['classConfidence']): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

/**
 * Refuses per-class confidences for classes the model does not have (its ONNX metadata `names`,
 * recorded as ModelRegistered.classes): a misspelt class would otherwise silently run at
 * `confidence`, which is what the entry was meant to change.
 */
export function checkClassConfidence(
  name: string,
  version: string,
  classes: readonly string[],
  thresholds: Pick<ThresholdsOverride, 'classConfidence'> | undefined,
): void {
  const unknown = Object.keys(thresholds?.classConfidence ?? {}).filter((c) => !classes.includes(c));
  if (unknown.length === 0) return;
  throw new DomainRuleViolation(
    'model.unknown-class',
    `${name}@${version} has no class ${unknown.map((c) => `'${c}'`).join(', ')}; its classes are ${classes.join(', ')}`,
    { name, version, unknownClasses: unknown, classes: [...classes] },
  );
}
