import { DomainRuleViolation } from '../errors.js';

/** A traffic split: version -> percent of requests. */
export type Weights = Readonly<Record<string, number>>;

/**
 * Splits are computed in basis points (1/100 of a percent) so "sums to exactly 100" is an integer
 * comparison, never a floating-point one.
 */
const WHOLE = 10_000;

/** Code-point order: deterministic and locale-independent. */
export const byVersion = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function toBasisPoints(percent: number, version: string): number {
  const bp = Math.round(percent * 100);
  if (!Number.isFinite(percent) || percent < 0 || percent > 100 || Math.abs(percent * 100 - bp) > 1e-6) {
    throw new DomainRuleViolation(
      'model.invalid-weight',
      `weight of '${version}' must be between 0 and 100 with at most two decimals`,
      { version, percent },
    );
  }
  return bp;
}

const fromBasisPoints = (entries: Iterable<[string, number]>): Weights =>
  Object.fromEntries(
    [...entries]
      .filter(([, bp]) => bp > 0)
      .sort(([a], [b]) => byVersion(a, b))
      .map(([v, bp]) => [v, bp / 100]),
  );

/** Drops zero shares, orders by version and checks the split sums to exactly 100. */
export function normaliseSplit(weights: Weights): Weights {
  const entries = Object.entries(weights).map(([v, p]) => [v, toBasisPoints(p, v)] as [string, number]);
  const total = entries.reduce((sum, [, bp]) => sum + bp, 0);
  if (total !== WHOLE) {
    throw new DomainRuleViolation('model.weights-must-sum-to-100', `weights sum to ${total / 100}, not 100`, {
      weights,
    });
  }
  return fromBasisPoints(entries);
}

/**
 * Gives `version` `percent` of the traffic and scales every other version proportionally into the
 * rest (largest-remainder rounding, ties by version, so the result is deterministic and exact).
 */
export function splitWithShare(current: Weights, version: string, percent: number): Weights {
  const share = toBasisPoints(percent, version);
  const others = Object.entries(current)
    .filter(([v]) => v !== version)
    .map(([v, p]) => [v, toBasisPoints(p, v)] as [string, number])
    .filter(([, bp]) => bp > 0);
  const rest = WHOLE - share;
  const othersTotal = others.reduce((sum, [, bp]) => sum + bp, 0);
  if (rest > 0 && othersTotal === 0) {
    throw new DomainRuleViolation(
      'model.weights-must-sum-to-100',
      `no other live version to keep the remaining ${rest / 100}%; the first deployment takes 100%`,
      { version, percent },
    );
  }
  const scaled = others.map(([v, bp]) => {
    const exact = (bp * rest) / othersTotal;
    return { v, floor: Math.floor(exact), remainder: exact - Math.floor(exact) };
  });
  let missing = rest - scaled.reduce((sum, s) => sum + s.floor, 0);
  const order = [...scaled].sort((a, b) => b.remainder - a.remainder || byVersion(a.v, b.v));
  for (const s of order) {
    if (missing === 0) break;
    s.floor += 1;
    missing -= 1;
  }
  return fromBasisPoints([[version, share], ...scaled.map((s) => [s.v, s.floor] as [string, number])]);
}

export function sameWeights(a: Weights, b: Weights): boolean {
  const ka = Object.keys(a).filter((k) => (a[k] ?? 0) > 0);
  const kb = Object.keys(b).filter((k) => (b[k] ?? 0) > 0);
  return ka.length === kb.length && ka.every((k) => Math.round((a[k] ?? 0) * 100) === Math.round((b[k] ?? 0) * 100));
}
