/**
 * The one exponential backoff of every retry loop (commands on a version conflict, subscriptions,
 * projections, the LISTEN connection, Kafka consumers, inference attempts): step 0 waits `baseMs`,
 * each further step twice as long, never more than `maxMs`. The exponent is capped so a long
 * outage never overflows to Infinity.
 */
export function backoffCeiling(step: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, step), 30));
}

/** "Equal jitter": between half and all of `ceiling`, so competing retriers spread out but always wait. */
export function equalJitter(ceiling: number, random: () => number = Math.random): number {
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** "Full jitter": anywhere in [0, ceiling), for writers racing on one stream. */
export function fullJitter(ceiling: number, random: () => number = Math.random): number {
  return Math.floor(random() * ceiling);
}
