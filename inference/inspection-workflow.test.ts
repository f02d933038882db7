import { describe, expect, it } from 'vitest';
import { type InspectionEvent, inspectionDecider } from '../domain/inspection/index.js';
import { DEFAULT_THRESHOLDS, type ModelRef } from '../schemas/events/index.js';
import { workflowSpec } from '../test/support/decider-spec.js';
import { evolveProgress, initialProgress, nextStep, type Outcome, type Step } from './inspection-workflow.js';
import type { InspectionRequest } from './ports/request-source.js';

const inspectionId = 'i1';
const live: ModelRef = { name: 'weld', version: 'v2', sha256: 'a'.repeat(64) };
const shadow: ModelRef = { name: 'weld', version: 'v3', sha256: 'b'.repeat(64) };
const data = {
  inspectionId,
  fileId: 'f1',
  fileSha256: 'c'.repeat(64),
  model: live,
  selection: { reason: 'explicit' as const, roll: null, weights: { v2: 100 } },
  shadows: [shadow],
  thresholds: DEFAULT_THRESHOLDS,
  requestedBy: 'op',
};
const request: InspectionRequest = { eventId: 'e1', data, metadata: {} };
const requested: InspectionEvent = { type: 'InspectionRequested', data };
const started = (attempt: number): InspectionEvent => ({
  type: 'InferenceStarted',
  data: { inspectionId, attempt, worker: 'w' },
});
const failed = (attempt: number, final: boolean): InspectionEvent => ({
  type: 'InspectionFailed',
  data: { inspectionId, code: 'internal', reason: 'boom', attempt, final },
});
const detected = (role: 'live' | 'shadow', model: ModelRef): InspectionEvent => ({
  type: 'DetectionsRecorded',
  data: {
    inspectionId,
    role,
    model,
    detections: [],
    image: { width: 10, height: 10 },
    window: null,
    tiling: null,
    thresholds: DEFAULT_THRESHOLDS,
    timings: { queueMs: 0, preprocessMs: 0, inferenceMs: 1, postprocessMs: 0 },
    batchSize: 1,
    cached: false,
  },
});
const transient = { code: 'model-error' as const, message: 'session crashed', retryable: true };

const workflow = (maxAttempts = 3, req = request) =>
  workflowSpec<
    ReturnType<typeof inspectionDecider.initialState>,
    ReturnType<typeof initialProgress>,
    Outcome,
    Step,
    InspectionEvent
  >({
    initialState: inspectionDecider.initialState,
    evolve: inspectionDecider.evolve,
    initialProgress,
    evolveProgress,
    next: (state, progress, latest) => nextStep(req, state, progress, latest, { maxAttempts }),
  });

describe('inspection workflow', () => {
  it('a delivered request starts the first attempt, then runs the live model', () => {
    workflow().given([requested]).when({ type: 'Delivered' }).then({ type: 'StartInference', attempt: 1 });
    workflow()
      .given([requested, started(1)], [{ type: 'Delivered' }])
      .when({ type: 'Started', attempt: 1 })
      .then({ type: 'RunModel', role: 'live', model: live });
  });

  it('after the live result, each unsettled shadow; then the outcome of this delivery', () => {
    workflow()
      .given([requested, started(1), detected('live', live)], [{ type: 'Started', attempt: 1 }])
      .when({ type: 'Recorded', role: 'live', model: live, cached: true })
      .then({ type: 'RunModel', role: 'shadow', model: shadow });
    workflow()
      .given(
        [requested, started(1), detected('live', live), detected('shadow', shadow)],
        [{ type: 'Recorded', role: 'live', model: live, cached: true }],
      )
      .when({ type: 'Recorded', role: 'shadow', model: shadow, cached: false })
      .then({
        type: 'Done',
        outcome: { inspectionId, status: 'recorded', cached: true, shadows: { recorded: ['weld@v3'], failed: [] } },
      });
  });

  it('a redelivery of a finished inspection does nothing; one with an unsettled shadow runs only the shadow', () => {
    const alreadyDone = { type: 'Done', outcome: { inspectionId, status: 'already-done' } } as const;
    workflow()
      .given([requested, started(1), detected('live', live), detected('shadow', shadow)])
      .when({ type: 'Delivered' })
      .then(alreadyDone);
    workflow()
      .given([requested, failed(1, true)])
      .when({ type: 'Delivered' })
      .then(alreadyDone);
    workflow().given([]).when({ type: 'Delivered' }).then(alreadyDone);
    workflow()
      .given([requested, started(1), detected('live', live)])
      .when({ type: 'Delivered' })
      .then({ type: 'RunModel', role: 'shadow', model: shadow });
  });

  it('a retryable failure is recorded, backed off and retried; the last attempt fails finally', () => {
    workflow()
      .given([requested, started(1)], [{ type: 'Started', attempt: 1 }])
      .when({ type: 'ModelFailed', role: 'live', model: live, failure: transient, refused: false })
      .then({ type: 'FailInspection', attempt: 1, failure: transient, reason: 'session crashed', final: false });
    workflow()
      .given([requested, started(1), failed(1, false)], [{ type: 'Started', attempt: 1 }])
      .when({ type: 'FailureRecorded', attempt: 1, failure: transient, final: false })
      .then({ type: 'Backoff', attempt: 1 });
    workflow()
      .given([requested, started(1), failed(1, false)], [{ type: 'Started', attempt: 1 }])
      .when({ type: 'BackedOff' })
      .then({ type: 'StartInference', attempt: 2 });
    workflow(2)
      .given([requested, started(1), failed(1, false), started(2)], [{ type: 'Started', attempt: 2 }])
      .when({ type: 'ModelFailed', role: 'live', model: live, failure: transient, refused: false })
      .thenMatches({ type: 'FailInspection', attempt: 2, final: true });
    workflow()
      .given([requested, started(1), failed(1, true)], [{ type: 'Started', attempt: 1 }])
      .when({ type: 'FailureRecorded', attempt: 1, failure: transient, final: true })
      .then({
        type: 'Done',
        outcome: { inspectionId, status: 'failed', code: 'model-error', reason: 'session crashed', attempt: 1 },
      });
  });

  it('a failure that cannot pass on retry fails finally at once', () => {
    const bad = { code: 'corrupt-image' as const, message: 'not an image', retryable: false };
    workflow()
      .given([requested, started(1)], [{ type: 'Started', attempt: 1 }])
      .when({ type: 'ModelFailed', role: 'live', model: live, failure: bad, refused: false })
      .thenMatches({ type: 'FailInspection', attempt: 1, final: true });
  });

  it('counts attempts across redeliveries: used-up attempts fail finally without running', () => {
    workflow(2)
      .given([requested, started(1), failed(1, false), started(2)])
      .when({ type: 'Delivered' })
      .thenMatches({ type: 'FailInspection', attempt: 3, final: true, reason: 'no result after 2 attempts' });
  });

  it('a refusal after another delivery finished is already done; before, a rule fails it finally', () => {
    const refusal = { code: 'internal' as const, message: 'rule', retryable: false };
    workflow()
      .given([requested, started(1), detected('live', live)], [{ type: 'Started', attempt: 1 }])
      .when({ type: 'ModelFailed', role: 'live', model: live, failure: refusal, refused: true })
      .then({ type: 'Done', outcome: { inspectionId, status: 'already-done' } });
    workflow()
      .given([requested])
      .when({ type: 'StartRefused', attempt: 1, message: 'rule' })
      .thenMatches({ type: 'FailInspection', attempt: 1, final: true });
  });

  it('a failing shadow is recorded once and the delivery moves on', () => {
    workflow()
      .given(
        [requested, started(1), detected('live', live)],
        [{ type: 'Recorded', role: 'live', model: live, cached: false }],
      )
      .when({ type: 'ModelFailed', role: 'shadow', model: shadow, failure: transient, refused: false })
      .then({ type: 'RecordShadowFailure', model: shadow, failure: transient, reason: 'session crashed' });
    workflow()
      .given(
        [requested, started(1), detected('live', live)],
        [
          { type: 'Recorded', role: 'live', model: live, cached: false },
          { type: 'ModelFailed', role: 'shadow', model: shadow, failure: transient, refused: false },
        ],
      )
      // Even when the failure record was refused (the shadow not settled in the stream), it is not tried again.
      .when({ type: 'ShadowFailureSettled', model: shadow })
      .then({
        type: 'Done',
        outcome: { inspectionId, status: 'recorded', cached: false, shadows: { recorded: [], failed: ['weld@v3'] } },
      });
  });

  it('evolveProgress keeps what this delivery did', () => {
    const progress = [
      { type: 'Started', attempt: 2 },
      { type: 'Recorded', role: 'live', model: live, cached: true },
    ] satisfies Outcome[];
    expect(progress.reduce(evolveProgress, initialProgress())).toEqual({
      attempt: 2,
      cached: true,
      recorded: [],
      failed: [],
    });
  });
});
