import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS, type ModelRef } from '../../schemas/events/index.js';
import { spec } from '../../test/support/decider-spec.js';
import { DomainConflict, DomainRuleViolation, NotFound } from '../errors.js';
import type { InspectionCommand, RecordDetectionsCommand, RequestInspectionCommand } from './commands.js';
import { type InspectionEvent, inspectionDecider } from './index.js';

const id = 'i1';
const live: ModelRef = { name: 'weld', version: 'v2', sha256: 'a'.repeat(64) };
const shadow: ModelRef = { name: 'weld', version: 'v3', sha256: 'b'.repeat(64) };
const selection = { reason: 'traffic-split' as const, roll: 0.3, weights: { v1: 50, v2: 50 } };
const cmd = <T extends InspectionCommand['type']>(type: T, data: Extract<InspectionCommand, { type: T }>['data']) =>
  ({ type, data, actor: 'op' }) as Extract<InspectionCommand, { type: T }>;

const requestCommand = (over: Partial<RequestInspectionCommand['data']> = {}) =>
  cmd('RequestInspection', {
    inspectionId: id,
    fileId: 'f1',
    file: { sha256: 'c'.repeat(64), deleted: false },
    model: live,
    selection,
    shadows: [shadow],
    thresholds: DEFAULT_THRESHOLDS,
    ...over,
  });
const requested: InspectionEvent = {
  type: 'InspectionRequested',
  data: {
    inspectionId: id,
    fileId: 'f1',
    fileSha256: 'c'.repeat(64),
    model: live,
    selection,
    shadows: [shadow],
    thresholds: DEFAULT_THRESHOLDS,
    requestedBy: 'op',
  },
};
const started = (attempt = 1): InspectionEvent => ({
  type: 'InferenceStarted',
  data: { inspectionId: id, attempt, worker: 'w1' },
});
const detectionsData = (role: 'live' | 'shadow' = 'live', model = live): RecordDetectionsCommand['data'] => ({
  inspectionId: id,
  role,
  model,
  detections: [
    { detectionId: 'd0', classId: 0, className: 'crack', score: 0.9, box: { x1: 1, y1: 2, x2: 30, y2: 40 } },
    { detectionId: 'd1', classId: 1, className: 'porosity', score: 0.5, box: { x1: 5, y1: 5, x2: 9, y2: 9 } },
  ],
  image: { width: 640, height: 480 },
  window: null,
  tiling: null,
  thresholds: DEFAULT_THRESHOLDS,
  timings: { queueMs: 1, preprocessMs: 2, inferenceMs: 30, postprocessMs: 1 },
  batchSize: 1,
  cached: false,
});
const detected = (role: 'live' | 'shadow' = 'live', model = live): InspectionEvent => ({
  type: 'DetectionsRecorded',
  data: detectionsData(role, model),
});
const failed = (attempt: number, final: boolean): InspectionEvent => ({
  type: 'InspectionFailed',
  data: { inspectionId: id, code: 'timeout', reason: 'model timed out', attempt, final },
});
const closedEvent: InspectionEvent = {
  type: 'InspectionClosed',
  data: { inspectionId: id, outcome: 'accepted', note: null, closedBy: 'op' },
};
const reviewed = (
  detectionId: string,
  verdict: 'confirmed' | 'rejected' | 'relabelled',
  newClassName: string | null = null,
) =>
  ({
    type: 'DetectionReviewed',
    data: { inspectionId: id, detectionId, verdict, newClassName, comment: null, reviewer: 'op' },
  }) as const satisfies InspectionEvent;

const inspection = spec(inspectionDecider);
const withResult = [requested, started(), detected()];

describe('inspection decider', () => {
  describe('RequestInspection', () => {
    it('records the file hash, model choice, shadows and thresholds', () => {
      inspection.given([]).when(requestCommand()).then([requested]);
    });
    it('drops the live model and duplicates from the shadows', () => {
      inspection
        .given([])
        .when(requestCommand({ shadows: [shadow, live, shadow] }))
        .then([requested]);
    });
    it('refuses a missing file', () => {
      inspection
        .given([])
        .when(requestCommand({ file: null }))
        .thenThrows(NotFound, 'file.not-found');
    });
    it('refuses a deleted file', () => {
      inspection
        .given([])
        .when(requestCommand({ file: { sha256: 'c'.repeat(64), deleted: true } }))
        .thenThrows(DomainRuleViolation, 'file.deleted');
    });
    it('is a no-op when the same inspection of the same file is requested again', () => {
      inspection.given([requested]).when(requestCommand()).thenNothing();
    });
    it('refuses reusing the inspection id for another file', () => {
      inspection
        .given([requested])
        .when(requestCommand({ fileId: 'f2' }))
        .thenThrows(DomainConflict, 'inspection.already-exists');
    });
  });

  describe('StartInference', () => {
    const start = (attempt: number) => cmd('StartInference', { inspectionId: id, attempt, worker: 'w1' });
    it('records the attempt', () => {
      inspection
        .given([requested])
        .when(start(1))
        .then([started(1)]);
    });
    it('ignores a redelivery of an attempt already started or failed', () => {
      inspection
        .given([requested, started(1)])
        .when(start(1))
        .thenNothing();
      inspection
        .given([requested, started(1), failed(1, false)])
        .when(start(1))
        .thenNothing();
    });
    it('starts the next attempt after a non-final failure', () => {
      inspection
        .given([requested, started(1), failed(1, false)])
        .when(start(2))
        .then([started(2)]);
    });
    it('refuses once the result is recorded, also for a redelivered attempt (the processor skips the run)', () => {
      inspection.given(withResult).when(start(2)).thenThrows(DomainConflict, 'inspection.already-detected');
      inspection.given(withResult).when(start(1)).thenThrows(DomainConflict, 'inspection.already-detected');
    });
    it('refuses a missing inspection', () => {
      inspection.given([]).when(start(1)).thenThrows(NotFound, 'inspection.not-found');
    });
  });

  describe('RecordDetections', () => {
    const record = (role: 'live' | 'shadow' = 'live', model = live) =>
      cmd('RecordDetections', detectionsData(role, model));
    it('records the live result', () => {
      inspection.given([requested, started()]).when(record()).then([detected()]);
    });
    it('a redelivered live result records nothing', () => {
      inspection.given(withResult).when(record()).thenNothing();
    });
    it('refuses results from a model other than the one chosen', () => {
      inspection
        .given([requested])
        .when(record('live', { ...live, version: 'v1' }))
        .thenThrows(DomainRuleViolation, 'inspection.model-mismatch');
      inspection
        .given([requested])
        .when(record('live', { ...live, sha256: 'f'.repeat(64) }))
        .thenThrows(DomainRuleViolation, 'inspection.model-mismatch');
    });
    it('records each shadow once', () => {
      inspection
        .given(withResult)
        .when(record('shadow', shadow))
        .then([detected('shadow', shadow)]);
      inspection
        .given([...withResult, detected('shadow', shadow)])
        .when(record('shadow', shadow))
        .thenNothing();
    });
    it('records a shadow before the live result without ending the inspection', () => {
      inspection
        .given([requested])
        .when(record('shadow', shadow))
        .thenState((s) => {
          expect(s.status).toBe('pending');
          expect(s.shadowResults).toEqual(['weld@v3']);
        });
    });
    it('refuses a model that is not a shadow of this inspection', () => {
      inspection
        .given([requested])
        .when(record('shadow', { ...shadow, version: 'v9' }))
        .thenThrows(DomainRuleViolation, 'inspection.not-a-shadow');
    });
    it('refuses detections on a closed inspection', () => {
      inspection
        .given([...withResult, closedEvent])
        .when(record('shadow', shadow))
        .thenThrows(DomainRuleViolation, 'inspection.closed');
    });
    it('refuses detections after a final failure', () => {
      inspection
        .given([requested, started(), failed(1, true)])
        .when(record())
        .thenThrows(DomainRuleViolation, 'inspection.failed');
    });
    it('refuses duplicate detection ids', () => {
      const data = detectionsData();
      const d0 = data.detections[0]!;
      inspection
        .given([requested])
        .when(cmd('RecordDetections', { ...data, detections: [d0, d0] }))
        .thenThrows(DomainRuleViolation, 'inspection.duplicate-detection-id');
    });
    it('refuses a missing inspection', () => {
      inspection.given([]).when(record()).thenThrows(NotFound);
    });
  });

  describe('FailInspection', () => {
    const fail = (attempt: number, final: boolean) =>
      cmd('FailInspection', { inspectionId: id, code: 'timeout', reason: 'model timed out', attempt, final });
    it('records a retryable failure and returns to pending', () => {
      inspection
        .given([requested, started()])
        .when(fail(1, false))
        .thenState((s) => expect(s.status).toBe('pending'));
    });
    it('records a final failure', () => {
      inspection
        .given([requested, started()])
        .when(fail(1, true))
        .then([failed(1, true)]);
    });
    it('ignores a redelivered failure of the same attempt', () => {
      inspection
        .given([requested, started(), failed(1, true)])
        .when(fail(1, true))
        .thenNothing();
    });
    it('refuses a new failure after the final one', () => {
      inspection
        .given([requested, started(), failed(1, true)])
        .when(fail(2, true))
        .thenThrows(DomainRuleViolation, 'inspection.failed');
    });
    it('refuses a failure once detections are recorded', () => {
      inspection.given(withResult).when(fail(1, true)).thenThrows(DomainConflict, 'inspection.already-detected');
    });
  });

  describe('RecordShadowFailure', () => {
    const shadowFailure = (model = shadow) =>
      cmd('RecordShadowFailure', { inspectionId: id, model, code: 'model-error', reason: 'output has 7 rows' });
    const shadowFailed: InspectionEvent = { type: 'ShadowInferenceFailed', data: shadowFailure().data };
    it('records the failure without touching the live result', () => {
      inspection.given(withResult).when(shadowFailure()).then([shadowFailed]);
      inspection
        .given([...withResult, shadowFailed])
        .when(cmd('ReviewDetection', { inspectionId: id, detectionId: 'd0', verdict: 'confirmed' }))
        .thenState((s) => {
          expect(s.status).toBe('detected');
          expect(s.shadowFailures).toEqual(['weld@v3']);
        });
    });
    it('a redelivered failure records nothing, and the shadow cannot record detections afterwards', () => {
      inspection
        .given([...withResult, shadowFailed])
        .when(shadowFailure())
        .thenNothing();
      inspection
        .given([...withResult, shadowFailed])
        .when(cmd('RecordDetections', detectionsData('shadow', shadow)))
        .thenThrows(DomainConflict, 'inspection.shadow-failed');
    });
    it('refuses a failure for a shadow that already recorded detections', () => {
      inspection
        .given([...withResult, detected('shadow', shadow)])
        .when(shadowFailure())
        .thenThrows(DomainConflict, 'inspection.shadow-recorded');
    });
    it('refuses a model that is not a shadow, or not the shadow the request named', () => {
      inspection.given(withResult).when(shadowFailure(live)).thenThrows(DomainRuleViolation, 'inspection.not-a-shadow');
      inspection
        .given(withResult)
        .when(shadowFailure({ ...shadow, sha256: 'f'.repeat(64) }))
        .thenThrows(DomainRuleViolation, 'inspection.model-mismatch');
    });
    it('refuses a closed inspection', () => {
      inspection
        .given([...withResult, closedEvent])
        .when(shadowFailure())
        .thenThrows(DomainRuleViolation, 'inspection.closed');
    });
  });

  describe('ReviewDetection', () => {
    const review = (detectionId: string, verdict: 'confirmed' | 'rejected' | 'relabelled', newClassName?: string) =>
      cmd('ReviewDetection', { inspectionId: id, detectionId, verdict, newClassName });
    it('confirms, rejects and relabels live detections', () => {
      inspection
        .given(withResult)
        .when(review('d0', 'confirmed'))
        .then([reviewed('d0', 'confirmed')]);
      inspection
        .given(withResult)
        .when(review('d1', 'rejected'))
        .then([reviewed('d1', 'rejected')]);
      inspection
        .given(withResult)
        .when(review('d1', 'relabelled', 'slag'))
        .then([reviewed('d1', 'relabelled', 'slag')]);
    });
    it('lets a reviewer change a verdict, and ignores an identical repeat', () => {
      inspection
        .given([...withResult, reviewed('d0', 'confirmed')])
        .when(review('d0', 'rejected'))
        .then([reviewed('d0', 'rejected')]);
      inspection
        .given([...withResult, reviewed('d0', 'confirmed')])
        .when(review('d0', 'confirmed'))
        .thenNothing();
    });
    it('requires a class name for a relabel, and only for a relabel', () => {
      inspection
        .given(withResult)
        .when(review('d0', 'relabelled'))
        .thenThrows(DomainRuleViolation, 'review.class-name-required');
      inspection
        .given(withResult)
        .when(review('d0', 'relabelled', 'crack'))
        .thenThrows(DomainRuleViolation, 'review.same-class');
      inspection
        .given(withResult)
        .when(review('d0', 'confirmed', 'slag'))
        .thenThrows(DomainRuleViolation, 'review.class-name-only-for-relabel');
    });
    it('refuses an unknown detection', () => {
      inspection.given(withResult).when(review('d7', 'confirmed')).thenThrows(NotFound, 'detection.not-found');
    });
    it('refuses shadow-only detections (no live result yet)', () => {
      inspection
        .given([requested, detected('shadow', shadow)])
        .when(review('d0', 'confirmed'))
        .thenThrows(DomainRuleViolation, 'inspection.no-detections');
    });
    it('refuses a closed inspection', () => {
      inspection
        .given([...withResult, closedEvent])
        .when(review('d0', 'confirmed'))
        .thenThrows(DomainRuleViolation, 'inspection.closed');
    });
  });

  describe('CloseInspection', () => {
    const close = (outcome: 'accepted' | 'rejected' | 'inconclusive' = 'accepted') =>
      cmd('CloseInspection', { inspectionId: id, outcome });
    it('closes after detections', () => {
      inspection.given(withResult).when(close()).then([closedEvent]);
    });
    it('closes a finally failed inspection only as inconclusive', () => {
      const history = [requested, started(), failed(1, true)];
      inspection
        .given(history)
        .when(close('inconclusive'))
        .then([{ ...closedEvent, data: { ...closedEvent.data, outcome: 'inconclusive' } } as InspectionEvent]);
      inspection
        .given(history)
        .when(close('accepted'))
        .thenThrows(DomainRuleViolation, 'inspection.failed-must-be-inconclusive');
    });
    it('refuses before detections or a final failure', () => {
      inspection
        .given([requested, started(), failed(1, false)])
        .when(close())
        .thenThrows(DomainRuleViolation, 'inspection.not-finished');
    });
    it('refuses closing twice', () => {
      inspection
        .given([...withResult, closedEvent])
        .when(close())
        .thenThrows(DomainConflict, 'inspection.already-closed');
    });
    it('refuses a missing inspection', () => {
      inspection.given([]).when(close()).thenThrows(NotFound);
    });
  });
});
