import type { ModelSelection } from '../../schemas/events/index.js';
import { DomainRuleViolation } from '../errors.js';
import { byVersion, toBasisPoints, type Weights } from './weights.js';

export interface VersionChoice {
  readonly version: string;
  readonly reason: Exclude<ModelSelection['reason'], 'explicit'>;
  /** The draw used against the weights; null when only one version is live. */
  readonly roll: number | null;
  readonly weights: Weights;
}

/**
 * Picks the live version for one request: versions in code-point order cover consecutive ranges
 * of [0, 1) in proportion to their weights, and `roll` (a uniform draw in [0, 1)) falls in one.
 * The same weights and roll always give the same version, so a recorded choice can be replayed.
 */
export function chooseVersion(weights: Weights, roll: number): VersionChoice {
  if (!(roll >= 0 && roll < 1)) throw new RangeError(`roll must be in [0, 1), got ${roll}`);
  const live = Object.entries(weights)
    .map(([version, percent]) => [version, toBasisPoints(percent, version)] as const)
    .filter(([, bp]) => bp > 0)
    .sort(([a], [b]) => byVersion(a, b));
  const [first] = live;
  if (!first) throw new DomainRuleViolation('model.not-deployed', 'no version of this model takes traffic');
  if (live.length === 1) return { version: first[0], reason: 'only-version', roll: null, weights };
  const total = live.reduce((sum, [, bp]) => sum + bp, 0);
  const target = roll * total;
  let cumulative = 0;
  for (const [version, bp] of live) {
    cumulative += bp;
    if (target < cumulative) return { version, reason: 'traffic-split', roll, weights };
  }
  // Unreachable for roll < 1; kept so floating-point edge cases still land on the last range.
  return { version: live[live.length - 1]![0], reason: 'traffic-split', roll, weights };
}
