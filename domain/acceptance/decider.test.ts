import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS, type EventData } from '../../schemas/events/index.js';
import { spec } from '../../test/support/decider-spec.js';
import { DomainConflict, DomainRuleViolation, NotFound } from '../errors.js';
import type { EvaluationBasis, InspectionCommand, InspectionEvent } from '../inspection/index.js';
import { inspectionDecider } from '../inspection/index.js';
import {
  type AcceptanceProfileEvent,
  acceptanceProfileDecider,
  measureDetection,
  pixelSpacingOfUpload,
  SAMPLE_PROFILE,
} from './index.js';
import { revisionForEvaluation } from './profile.js';

const profile = spec(acceptanceProfileDecider);
const rules = SAMPLE_PROFILE.rules;
const created: AcceptanceProfileEvent = {
  type: 'AcceptanceProfileCreated',
  data: { ...SAMPLE_PROFILE, createdBy: 'qa' },
};
const tighter = rules.map((r) => (r.id === 'largest-pore' ? { ...r, maxMm: 1 } : r));
const revised: AcceptanceProfileEvent = {
  type: 'AcceptanceProfileRevised',
  data: { profileId: SAMPLE_PROFILE.profileId, revision: 2, rules: tighter, note: 'tighter', revisedBy: 'qa' },
};
const retired: AcceptanceProfileEvent = {
  type: 'AcceptanceProfileRetired',
  data: { profileId: SAMPLE_PROFILE.profileId, reason: 'replaced', retiredBy: 'qa' },
};
const pc = <T extends 'CreateAcceptanceProfile' | 'ReviseAcceptanceProfile' | 'RetireAcceptanceProfile'>(
  type: T,
  data: object,
) => ({ type, data, actor: 'qa' }) as never;

describe('acceptance profile decider', () => {
  it('creates revision 1, and a repeat of the same creation records nothing', () => {
    profile.given([]).when(pc('CreateAcceptanceProfile', SAMPLE_PROFILE)).then([created]);
    profile.given([created]).when(pc('CreateAcceptanceProfile', SAMPLE_PROFILE)).thenNothing();
  });
  it('refuses reusing a profile id for other rules', () => {
    profile
      .given([created])
      .when(pc('CreateAcceptanceProfile', { ...SAMPLE_PROFILE, rules: tighter }))
      .thenThrows(DomainConflict, 'profile.already-exists');
  });
  it('numbers revisions and keeps every one readable', () => {
    profile
      .given([created])
      .when(pc('ReviseAcceptanceProfile', { profileId: SAMPLE_PROFILE.profileId, rules: tighter, note: 'tighter' }))
      .then([revised]);
    profile
      .given([created, revised])
      .when(pc('ReviseAcceptanceProfile', { profileId: SAMPLE_PROFILE.profileId, rules }))
      .thenState((s) => {
        expect(s.revisions).toHaveLength(3);
        expect(revisionForEvaluation(s, SAMPLE_PROFILE.profileId, 1).rules).toEqual(rules);
        expect(revisionForEvaluation(s, SAMPLE_PROFILE.profileId, undefined).revision).toBe(3);
      });
  });
  it('a revision with the latest rules records nothing', () => {
    profile
      .given([created, revised])
      .when(pc('ReviseAcceptanceProfile', { profileId: SAMPLE_PROFILE.profileId, rules: tighter }))
      .thenNothing();
  });
  it('retires once; a retired profile takes no revision and judges nothing new', () => {
    profile
      .given([created])
      .when(pc('RetireAcceptanceProfile', { profileId: SAMPLE_PROFILE.profileId, reason: 'replaced' }))
      .then([retired]);
    profile
      .given([created, retired])
      .when(pc('RetireAcceptanceProfile', { profileId: SAMPLE_PROFILE.profileId, reason: 'x' }))
      .thenNothing();
    profile
      .given([created, retired])
      .when(pc('ReviseAcceptanceProfile', { profileId: SAMPLE_PROFILE.profileId, rules }))
      .thenThrows(DomainRuleViolation, 'profile.retired');
    const state = [created, retired].reduce(acceptanceProfileDecider.evolve, acceptanceProfileDecider.initialState());
    expect(() => revisionForEvaluation(state, SAMPLE_PROFILE.profileId, 1)).toThrow(DomainRuleViolation);
  });
  it('refuses revising or retiring a missing profile, and an unknown revision', () => {
    profile
      .given([])
      .when(pc('ReviseAcceptanceProfile', { profileId: 'x', rules }))
      .thenThrows(NotFound);
    profile
      .given([])
      .when(pc('RetireAcceptanceProfile', { profileId: 'x', reason: 'r' }))
      .thenThrows(NotFound);
    const state = [created].reduce(acceptanceProfileDecider.evolve, acceptanceProfileDecider.initialState());
    expect(() => revisionForEvaluation(state, SAMPLE_PROFILE.profileId, 2)).toThrow(NotFound);
  });
});

describe('measureDetection', () => {
  const image = { width: 1000, height: 500 };
  it('turns pixels into mm with the column spacing across and the row spacing down', () => {
    const m = measureDetection({ box: { x1: 10, y1: 20, x2: 40, y2: 60 }, image }, { row: 0.1, column: 0.2 });
    expect(m).toEqual({ widthPx: 30, heightPx: 40, sizeMm: 6, lengthMm: 7.211, areaPercent: 0.188496 });
  });
  it('never guesses mm without a pixel spacing', () => {
    const m = measureDetection({ box: { x1: 10, y1: 20, x2: 40, y2: 60 }, image }, null);
    expect(m.sizeMm).toBeNull();
    expect(m.lengthMm).toBeNull();
    expect(m.areaPercent).toBeCloseTo(0.188496, 6);
  });
  it('reads the spacing an upload recorded, and nothing else', () => {
    expect(pixelSpacingOfUpload({ pixelSpacingMm: { row: 0.2, column: 0.15 } })).toEqual({ row: 0.2, column: 0.15 });
    expect(pixelSpacingOfUpload({ width: 10 })).toBeNull();
    expect(pixelSpacingOfUpload({ pixelSpacingMm: { row: 0, column: 0.2 } })).toBeNull();
    expect(pixelSpacingOfUpload(null)).toBeNull();
  });
});

describe('evaluating an inspection', () => {
  const id = 'i1';
  const model = { name: 'weld', version: 'v1', sha256: 'a'.repeat(64) };
  const requested: InspectionEvent = {
    type: 'InspectionRequested',
    data: {
      inspectionId: id,
      fileId: 'f1',
      fileSha256: 'c'.repeat(64),
      model,
      selection: { reason: 'explicit', roll: null, weights: { v1: 100 } },
      shadows: [],
      thresholds: DEFAULT_THRESHOLDS,
      requestedBy: 'op',
    },
  };
  const box = (x1: number, y1: number, w: number, h: number) => ({ x1, y1, x2: x1 + w, y2: y1 + h });
  const detected: InspectionEvent = {
    type: 'DetectionsRecorded',
    data: {
      inspectionId: id,
      role: 'live',
      model,
      detections: [
        // A 2 mm pore and a 4 mm pore at 0.2 mm/px; a crack; a slag line 12 mm long.
        { detectionId: 'd0', classId: 0, className: 'porosity', score: 0.9, box: box(100, 100, 10, 10) },
        { detectionId: 'd1', classId: 0, className: 'porosity', score: 0.8, box: box(300, 100, 20, 20) },
        { detectionId: 'd2', classId: 1, className: 'crack', score: 0.7, box: box(500, 200, 60, 4) },
        { detectionId: 'd3', classId: 2, className: 'slag_inclusion', score: 0.6, box: box(700, 250, 60, 0) },
      ],
      image: { width: 1000, height: 500 },
      window: null,
      tiling: null,
      thresholds: DEFAULT_THRESHOLDS,
      timings: { queueMs: 0, preprocessMs: 1, inferenceMs: 2, postprocessMs: 1 },
      batchSize: 1,
      cached: false,
    },
  };
  const review = (
    detectionId: string,
    verdict: 'confirmed' | 'rejected' | 'relabelled',
    newClassName: string | null = null,
  ): InspectionEvent => ({
    type: 'DetectionReviewed',
    data: { inspectionId: id, detectionId, verdict, newClassName, comment: null, reviewer: 'rev' },
  });
  const basis = (over: Partial<EvaluationBasis> = {}): EvaluationBasis => ({
    profile: { profileId: SAMPLE_PROFILE.profileId, name: SAMPLE_PROFILE.name, revision: 1 },
    rules,
    pixelSpacingMm: { row: 0.2, column: 0.2 },
    ...over,
  });
  const evaluate = (over: Partial<EvaluationBasis> = {}) =>
    ({ type: 'EvaluateInspection', actor: 'qa', data: { inspectionId: id, ...basis(over) } }) as InspectionCommand;
  const inspection = spec(inspectionDecider);
  const verdictOf = (events: InspectionEvent[]) => {
    let result: EventData<'InspectionEvaluated'> | undefined;
    inspection
      .given(events)
      .when(evaluate())
      .thenState((s) => {
        result = s.evaluations.at(-1);
      });
    return result!;
  };
  const outcome = (v: EventData<'InspectionEvaluated'>, ruleId: string) => v.rules.find((r) => r.ruleId === ruleId)!;

  it('rejects on the crack and the large pore, naming each rule, its measurement and the detections used', () => {
    const v = verdictOf([requested, detected]);
    expect(v.verdict).toBe('reject');
    expect(outcome(v, 'no-cracks')).toMatchObject({
      outcome: 'fail',
      measured: 1,
      limit: 0,
      detectionIds: ['d2'],
      worst: 'd2',
    });
    expect(outcome(v, 'largest-pore')).toMatchObject({
      outcome: 'fail',
      measured: 4,
      limit: 3,
      unit: 'mm',
      worst: 'd1',
      detectionIds: ['d0', 'd1'],
    });
    expect(outcome(v, 'longest-slag')).toMatchObject({ outcome: 'fail', measured: 12, limit: 10, worst: 'd3' });
    expect(outcome(v, 'no-lack-of-fusion')).toMatchObject({ outcome: 'pass', measured: 0 });
    expect(v.detections.map((d) => d.detectionId)).toEqual(['d0', 'd1', 'd2', 'd3']);
    expect(v.profile).toEqual({ profileId: SAMPLE_PROFILE.profileId, name: SAMPLE_PROFILE.name, revision: 1 });
    expect(v.evaluatedBy).toBe('qa');
  });
  it('human reviews count: rejected detections are left out, relabelled ones judged as their new class', () => {
    const v = verdictOf([
      requested,
      detected,
      review('d2', 'rejected'),
      review('d1', 'rejected'),
      review('d3', 'relabelled', 'porosity'),
      review('d0', 'confirmed'),
    ]);
    expect(v.excluded).toEqual(['d1', 'd2']);
    expect(v.detections).toEqual([
      expect.objectContaining({ detectionId: 'd0', className: 'porosity', review: 'confirmed' }),
      expect.objectContaining({ detectionId: 'd3', className: 'porosity', review: 'relabelled' }),
    ]);
    expect(outcome(v, 'no-cracks')).toMatchObject({ outcome: 'pass', detectionIds: [] });
    // d3 is now a 12 mm "pore": the largest-pore rule fails on it.
    expect(outcome(v, 'largest-pore')).toMatchObject({ outcome: 'fail', worst: 'd3' });
  });
  it('accepts when every rule passes', () => {
    const v = verdictOf([
      requested,
      detected,
      review('d1', 'rejected'),
      review('d2', 'rejected'),
      review('d3', 'rejected'),
    ]);
    expect(v.verdict).toBe('accept');
    expect(v.rules.every((r) => r.outcome === 'pass')).toBe(true);
  });
  it('is indeterminate when a mm rule meets an unknown pixel spacing; a count rule still rejects', () => {
    const accepted = [
      requested,
      detected,
      review('d1', 'rejected'),
      review('d2', 'rejected'),
      review('d3', 'rejected'),
    ];
    inspection
      .given(accepted)
      .when(evaluate({ pixelSpacingMm: null }))
      .thenState((s) => {
        const v = s.evaluations.at(-1)!;
        expect(v.verdict).toBe('indeterminate');
        expect(outcome(v, 'largest-pore')).toMatchObject({ outcome: 'indeterminate', measured: null });
        expect(outcome(v, 'porosity-area')).toMatchObject({ outcome: 'pass' });
        expect(v.detections[0]!.measurement.sizeMm).toBeNull();
      });
    inspection
      .given([requested, detected])
      .when(evaluate({ pixelSpacingMm: null }))
      .thenState((s) => expect(s.evaluations.at(-1)!.verdict).toBe('reject'));
  });
  it('totals linear indications in the worst window of weld length', () => {
    const rule = {
      id: 'slag-total',
      kind: 'max-total-length' as const,
      classes: ['porosity'],
      maxMm: 5,
      perMm: 50,
      description: '',
    };
    inspection
      .given([requested, detected])
      .when(evaluate({ rules: [rule] }))
      .thenState((s) => {
        // d0 (x 100, 2.83 mm) and d1 (x 300, 5.66 mm) are 40 mm apart: one 50 mm window holds both.
        expect(outcome(s.evaluations.at(-1)!, 'slag-total')).toMatchObject({
          measured: 8.485,
          outcome: 'fail',
          worst: 'd0',
        });
      });
  });
  it('records each verdict as a new event; the same question with nothing changed records nothing', () => {
    const first = verdictOf([requested, detected]);
    const evaluated: InspectionEvent = { type: 'InspectionEvaluated', data: first };
    inspection.given([requested, detected, evaluated]).when(evaluate()).thenNothing();
    inspection
      .given([requested, detected, evaluated, review('d2', 'rejected')])
      .when(evaluate())
      .thenState((s) => {
        expect(s.evaluations).toHaveLength(2);
        expect(s.evaluations[0]).toEqual(first);
      });
  });
  it('a later revision is a new verdict and leaves the recorded one as it was', () => {
    const first = verdictOf([requested, detected]);
    const evaluated: InspectionEvent = { type: 'InspectionEvaluated', data: first };
    inspection
      .given([requested, detected, evaluated])
      .when(evaluate({ profile: { ...basis().profile, revision: 2 }, rules: tighter }))
      .thenState((s) => {
        expect(s.evaluations.map((e) => e.profile.revision)).toEqual([1, 2]);
        expect(s.evaluations[0]).toEqual(first);
      });
  });
  it('closing with a profile records the verdict, then the closing', () => {
    inspection
      .given([requested, detected])
      .when({
        type: 'CloseInspection',
        actor: 'qa',
        data: { inspectionId: id, outcome: 'rejected', evaluation: basis() },
      } as InspectionCommand)
      .thenState((s) => {
        expect(s.status).toBe('closed');
        expect(s.evaluations.at(-1)!.verdict).toBe('reject');
      });
  });
  it('re-evaluates a closed inspection, and refuses one without live detections', () => {
    const closed: InspectionEvent = {
      type: 'InspectionClosed',
      data: { inspectionId: id, outcome: 'accepted', note: null, closedBy: 'qa' },
    };
    inspection
      .given([requested, detected, closed])
      .when(evaluate())
      .thenState((s) => expect(s.evaluations).toHaveLength(1));
    inspection.given([requested]).when(evaluate()).thenThrows(DomainRuleViolation, 'inspection.no-detections');
    inspection.given([]).when(evaluate()).thenThrows(NotFound, 'inspection.not-found');
  });
  it('records a report issuance once per file and person', () => {
    const data = {
      inspectionId: id,
      reportSha256: 'e'.repeat(64),
      sizeBytes: 1000,
      format: 'pdf' as const,
      asOf: null,
      shadow: false,
      covers: { streamVersion: 2, globalPosition: 9, eventHash: 'f'.repeat(64) },
    };
    const issued: InspectionEvent = { type: 'ReportIssued', data: { ...data, issuedBy: 'aud' } };
    const issue = (actor: string) => ({ type: 'IssueReport', actor, data }) as InspectionCommand;
    inspection.given([requested, detected]).when(issue('aud')).then([issued]);
    inspection.given([requested, detected, issued]).when(issue('aud')).thenNothing();
    inspection
      .given([requested, detected, issued])
      .when(issue('other'))
      .then([{ type: 'ReportIssued', data: { ...data, issuedBy: 'other' } }]);
    inspection.given([]).when(issue('aud')).thenThrows(NotFound);
  });
});

describe('repeats of what is recorded', () => {
  // Stored payloads come back from jsonb with their object keys in another order.
  const reordered = <T>(value: T): T =>
    JSON.parse(
      JSON.stringify(value, (_k, v) =>
        v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
      ),
    );
  it('a creation repeated after a round trip through storage records nothing', () => {
    profile
      .given([reordered(created)])
      .when(pc('CreateAcceptanceProfile', SAMPLE_PROFILE))
      .thenNothing();
  });
});
