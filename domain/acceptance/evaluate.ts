import type { AcceptanceRule, Box, EventData, PixelSpacingMm, RuleOutcome } from '../../schemas/events/index.js';
import { measureDetection } from './measure.js';

export interface LiveDetection {
  readonly detectionId: string;
  readonly className: string;
  readonly box: Box;
}

export interface ReviewState {
  readonly verdict: 'confirmed' | 'rejected' | 'relabelled';
  readonly newClassName: string | null;
}

export interface EvaluationInput {
  readonly rules: readonly AcceptanceRule[];
  readonly detections: readonly LiveDetection[];
  readonly reviews: Readonly<Record<string, ReviewState>>;
  readonly image: { readonly width: number; readonly height: number };
  readonly pixelSpacingMm: PixelSpacingMm | null;
}

type Evaluation = Pick<EventData<'InspectionEvaluated'>, 'verdict' | 'detections' | 'excluded' | 'rules'>;
type Used = Evaluation['detections'][number];

/**
 * Judges live detections against a rule set. Reviews count: a rejected detection is left out, a
 * relabelled one counts as its new class. Any failed rule rejects; otherwise a rule that needed
 * millimetres without a known pixel spacing makes the verdict indeterminate.
 */
export function evaluateDetections(input: EvaluationInput): Evaluation {
  const used: Used[] = [];
  const excluded: string[] = [];
  for (const detection of input.detections) {
    const review = input.reviews[detection.detectionId];
    if (review?.verdict === 'rejected') {
      excluded.push(detection.detectionId);
      continue;
    }
    used.push({
      detectionId: detection.detectionId,
      className: review?.verdict === 'relabelled' && review.newClassName ? review.newClassName : detection.className,
      review: review?.verdict ?? 'unreviewed',
      measurement: measureDetection({ box: detection.box, image: input.image }, input.pixelSpacingMm),
    });
  }
  const rules = input.rules.map((rule) => judge(rule, used, input));
  const verdict = rules.some((r) => r.outcome === 'fail')
    ? 'reject'
    : rules.some((r) => r.outcome === 'indeterminate')
      ? 'indeterminate'
      : 'accept';
  return { verdict, detections: used, excluded, rules };
}

function judge(rule: AcceptanceRule, used: readonly Used[], input: EvaluationInput): RuleOutcome {
  const classes = new Set(rule.classes);
  const relevant = used.filter((d) => classes.has(d.className));
  const base = {
    ruleId: rule.id,
    kind: rule.kind,
    classes: [...rule.classes],
    description: rule.description,
    detectionIds: relevant.map((d) => d.detectionId),
  };
  const compare = (measured: number | null, limit: number, unit: RuleOutcome['unit'], worst: string | null) => ({
    ...base,
    outcome: measured === null ? ('indeterminate' as const) : measured <= limit ? ('pass' as const) : ('fail' as const),
    measured,
    limit,
    unit,
    worst,
  });
  switch (rule.kind) {
    case 'not-permitted':
      return compare(relevant.length, 0, 'count', relevant[0]?.detectionId ?? null);
    case 'max-count':
      return compare(relevant.length, rule.max, 'count', null);
    case 'max-size':
      return largest(relevant, (d) => d.measurement.sizeMm, rule.maxMm, compare);
    case 'max-length':
      return largest(relevant, (d) => d.measurement.lengthMm, rule.maxMm, compare);
    case 'max-total-length': {
      if (relevant.length === 0) return compare(0, rule.maxMm, 'mm-per-length', null);
      const spacing = input.pixelSpacingMm;
      if (!spacing) return compare(null, rule.maxMm, 'mm-per-length', null);
      // The weld is taken to run along the image width: the worst window of `perMm` along x.
      const windowPx = rule.perMm / spacing.column;
      const boxes = new Map(input.detections.map((d) => [d.detectionId, d.box]));
      const placed = relevant.map((d) => ({ d, x: boxes.get(d.detectionId)!.x1 }));
      let worstTotal = 0;
      let worstId: string | null = null;
      for (const start of placed) {
        const total = placed
          .filter((p) => p.x >= start.x && p.x < start.x + windowPx)
          .reduce((sum, p) => sum + (p.d.measurement.lengthMm ?? 0), 0);
        if (total > worstTotal) {
          worstTotal = total;
          worstId = start.d.detectionId;
        }
      }
      return compare(Number(worstTotal.toFixed(3)), rule.maxMm, 'mm-per-length', worstId);
    }
    case 'max-area-percent': {
      const total = relevant.reduce((sum, d) => sum + d.measurement.areaPercent, 0);
      return compare(Number(total.toFixed(6)), rule.maxPercent, 'percent', null);
    }
  }
}

function largest(
  relevant: readonly Used[],
  measure: (d: Used) => number | null,
  limit: number,
  compare: (measured: number | null, limit: number, unit: RuleOutcome['unit'], worst: string | null) => RuleOutcome,
): RuleOutcome {
  if (relevant.length === 0) return compare(0, limit, 'mm', null);
  let worst: Used | null = null;
  for (const d of relevant) {
    const value = measure(d);
    if (value === null) return compare(null, limit, 'mm', null);
    if (worst === null || value > (measure(worst) ?? 0)) worst = d;
  }
  return compare(measure(worst!), limit, 'mm', worst!.detectionId);
}
