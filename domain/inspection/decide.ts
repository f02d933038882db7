import { isDeepStrictEqual } from 'node:util';
import type { EventData, ModelRef } from '../../schemas/events/index.js';
import { evaluateDetections } from '../acceptance/evaluate.js';
import { DomainConflict, DomainRuleViolation, NotFound } from '../errors.js';
import type {
  CloseInspectionCommand,
  EvaluateInspectionCommand,
  EvaluationBasis,
  FailInspectionCommand,
  FileFacts,
  InspectionCommand,
  IssueReportCommand,
  RecordDetectionsCommand,
  RecordShadowFailureCommand,
  RequestInspectionCommand,
  ReviewDetectionCommand,
  StartInferenceCommand,
} from './commands.js';
import { type InspectionEvent, type InspectionState, issuanceKey, modelKey } from './state.js';

export function decideInspection(command: InspectionCommand, state: InspectionState): InspectionEvent[] {
  switch (command.type) {
    case 'RequestInspection':
      return request(command, state);
    case 'StartInference':
      return start(command, state);
    case 'RecordDetections':
      return recordDetections(command, state);
    case 'FailInspection':
      return fail(command, state);
    case 'RecordShadowFailure':
      return recordShadowFailure(command, state);
    case 'ReviewDetection':
      return review(command, state);
    case 'CloseInspection':
      return close(command, state);
    case 'EvaluateInspection':
      return evaluate(command, state);
    case 'IssueReport':
      return issueReport(command, state);
  }
}

function request({ data, actor }: RequestInspectionCommand, state: InspectionState): InspectionEvent[] {
  if (state.request) {
    if (state.request.fileId === data.fileId) return [];
    throw new DomainConflict(
      'inspection.already-exists',
      `inspection '${data.inspectionId}' already exists for another file`,
      { inspectionId: data.inspectionId, fileId: state.request.fileId },
    );
  }
  const file = requireInspectableFile(data.fileId, data.file);
  const live = modelKey(data.model);
  const shadows = data.shadows.filter(
    (s, i) => modelKey(s) !== live && data.shadows.findIndex((o) => modelKey(o) === modelKey(s)) === i,
  );
  return [
    {
      type: 'InspectionRequested',
      data: {
        inspectionId: data.inspectionId,
        fileId: data.fileId,
        fileSha256: file.sha256,
        model: data.model,
        selection: data.selection,
        shadows,
        thresholds: data.thresholds,
        requestedBy: actor,
      },
    },
  ];
}

function start({ data }: StartInferenceCommand, state: InspectionState): InspectionEvent[] {
  requireOpen(state, data.inspectionId);
  if (state.status === 'detected') {
    throw new DomainConflict(
      'inspection.already-detected',
      `inspection '${data.inspectionId}' already has its result`,
      {
        inspectionId: data.inspectionId,
      },
    );
  }
  // A redelivered request for an attempt already started (or failed) changes nothing.
  if (data.attempt <= Math.max(state.attempt, state.lastFailure?.attempt ?? 0)) return [];
  return [{ type: 'InferenceStarted', data }];
}

function recordDetections({ data }: RecordDetectionsCommand, state: InspectionState): InspectionEvent[] {
  const request = requireOpen(state, data.inspectionId);
  const key = modelKey(data.model);
  if (data.role === 'live') {
    requireSameModel(request.model, data.model, data.inspectionId);
    if (state.live) return [];
  } else {
    requireSameModel(requireShadow(request, data.model, data.inspectionId), data.model, data.inspectionId);
    if (state.shadowResults.includes(key)) return [];
    if (state.shadowFailures.includes(key)) {
      throw new DomainConflict('inspection.shadow-failed', `shadow ${key} is already recorded as failed`, {
        inspectionId: data.inspectionId,
        model: key,
      });
    }
  }
  const ids = data.detections.map((d) => d.detectionId);
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
  if (duplicate !== undefined) {
    throw new DomainRuleViolation('inspection.duplicate-detection-id', `detection id '${duplicate}' appears twice`, {
      inspectionId: data.inspectionId,
      detectionId: duplicate,
    });
  }
  return [{ type: 'DetectionsRecorded', data }];
}

function fail({ data }: FailInspectionCommand, state: InspectionState): InspectionEvent[] {
  // A redelivered failure of an attempt already recorded changes nothing, even after the final one.
  if (state.request && state.lastFailure && data.attempt <= state.lastFailure.attempt && state.status !== 'closed') {
    return [];
  }
  requireOpen(state, data.inspectionId);
  if (state.status === 'detected') {
    throw new DomainConflict(
      'inspection.already-detected',
      `inspection '${data.inspectionId}' already has its result`,
      {
        inspectionId: data.inspectionId,
      },
    );
  }
  return [{ type: 'InspectionFailed', data }];
}

/** A shadow's failure is recorded once the live model has its result; it never changes the inspection's status. */
function recordShadowFailure({ data }: RecordShadowFailureCommand, state: InspectionState): InspectionEvent[] {
  const request = requireOpen(state, data.inspectionId);
  const key = modelKey(data.model);
  requireSameModel(requireShadow(request, data.model, data.inspectionId), data.model, data.inspectionId);
  if (state.shadowFailures.includes(key)) return [];
  if (state.shadowResults.includes(key)) {
    throw new DomainConflict('inspection.shadow-recorded', `shadow ${key} already recorded its detections`, {
      inspectionId: data.inspectionId,
      model: key,
    });
  }
  return [{ type: 'ShadowInferenceFailed', data }];
}

function review({ data, actor }: ReviewDetectionCommand, state: InspectionState): InspectionEvent[] {
  requireExisting(state, data.inspectionId);
  if (state.status === 'closed') throw closed(data.inspectionId);
  if (!state.live) {
    throw new DomainRuleViolation(
      'inspection.no-detections',
      `inspection '${data.inspectionId}' has no live detections`,
      {
        inspectionId: data.inspectionId,
      },
    );
  }
  const detectedClass = state.live.classes[data.detectionId];
  if (detectedClass === undefined) throw new NotFound('detection', `${data.inspectionId}/${data.detectionId}`);
  const newClassName = data.newClassName ?? null;
  if (data.verdict === 'relabelled') {
    if (newClassName === null) {
      throw new DomainRuleViolation('review.class-name-required', 'a relabel must name the new class', {
        detectionId: data.detectionId,
      });
    }
    if (newClassName === detectedClass) {
      throw new DomainRuleViolation('review.same-class', `the detection is already '${detectedClass}'`, {
        detectionId: data.detectionId,
      });
    }
  } else if (newClassName !== null) {
    throw new DomainRuleViolation('review.class-name-only-for-relabel', 'only a relabel names a new class', {
      detectionId: data.detectionId,
    });
  }
  const comment = data.comment ?? null;
  const latest = state.reviews[data.detectionId];
  if (
    latest &&
    latest.verdict === data.verdict &&
    latest.newClassName === newClassName &&
    latest.comment === comment &&
    latest.reviewer === actor
  ) {
    return [];
  }
  return [
    {
      type: 'DetectionReviewed',
      data: {
        inspectionId: data.inspectionId,
        detectionId: data.detectionId,
        verdict: data.verdict,
        newClassName,
        comment,
        reviewer: actor,
      },
    },
  ];
}

function close({ data, actor }: CloseInspectionCommand, state: InspectionState): InspectionEvent[] {
  requireExisting(state, data.inspectionId);
  if (state.status === 'closed') {
    throw new DomainConflict('inspection.already-closed', `inspection '${data.inspectionId}' is already closed`, {
      inspectionId: data.inspectionId,
    });
  }
  if (state.ended === null) {
    throw new DomainRuleViolation(
      'inspection.not-finished',
      `inspection '${data.inspectionId}' has neither detections nor a final failure yet`,
      { inspectionId: data.inspectionId },
    );
  }
  if (state.ended === 'failed' && data.outcome !== 'inconclusive') {
    throw new DomainRuleViolation(
      'inspection.failed-must-be-inconclusive',
      'an inspection that failed without detections can only be closed as inconclusive',
      { inspectionId: data.inspectionId },
    );
  }
  const closing: InspectionEvent = {
    type: 'InspectionClosed',
    data: { inspectionId: data.inspectionId, outcome: data.outcome, note: data.note ?? null, closedBy: actor },
  };
  if (!data.evaluation) return [closing];
  if (state.ended === 'failed') throw noDetections(data.inspectionId);
  return [...judge(data.inspectionId, data.evaluation, state, actor, { always: true }), closing];
}

/**
 * Judges the live detections, as reviewed now, against one profile revision. Allowed after
 * closing too (an auditor re-evaluates against a newer revision); each verdict is a new event
 * and none replaces an earlier one. Asking again with nothing changed records nothing.
 */
function evaluate({ data, actor }: EvaluateInspectionCommand, state: InspectionState): InspectionEvent[] {
  requireExisting(state, data.inspectionId);
  return judge(data.inspectionId, data, state, actor, { always: false });
}

function judge(
  inspectionId: string,
  basis: EvaluationBasis,
  state: InspectionState,
  actor: string,
  { always }: { always: boolean },
): InspectionEvent[] {
  if (!state.live) throw noDetections(inspectionId);
  const result = evaluateDetections({
    rules: basis.rules,
    detections: state.live.detections,
    reviews: state.reviews,
    image: state.live.image,
    pixelSpacingMm: basis.pixelSpacingMm,
  });
  const verdict = {
    inspectionId,
    profile: basis.profile,
    verdict: result.verdict,
    pixelSpacingMm: basis.pixelSpacingMm,
    image: state.live.image,
    detections: result.detections,
    excluded: result.excluded,
    rules: result.rules,
    evaluatedBy: actor,
  };
  const latest = state.evaluations.at(-1);
  if (!always && latest && sameVerdict(latest, verdict)) return [];
  return [{ type: 'InspectionEvaluated', data: verdict }];
}

/** Key order is not meaning: a recorded verdict comes back from jsonb with its keys reordered. */
const sameVerdict = (a: EventData<'InspectionEvaluated'>, b: EventData<'InspectionEvaluated'>) =>
  isDeepStrictEqual({ ...a, evaluatedBy: null }, { ...b, evaluatedBy: null });

/** Who was handed which exact report bytes; the same file to the same person again records nothing. */
function issueReport({ data, actor }: IssueReportCommand, state: InspectionState): InspectionEvent[] {
  requireExisting(state, data.inspectionId);
  if (state.reportsIssued.includes(issuanceKey(data.reportSha256, actor))) return [];
  return [{ type: 'ReportIssued', data: { ...data, issuedBy: actor } }];
}

const noDetections = (inspectionId: string) =>
  new DomainRuleViolation('inspection.no-detections', `inspection '${inspectionId}' has no live detections`, {
    inspectionId,
  });

/** A file can be inspected when it exists and is not deleted. */
export function requireInspectableFile(fileId: string, file: FileFacts): NonNullable<FileFacts> {
  if (file === null) throw new NotFound('file', fileId);
  if (file.deleted) {
    throw new DomainRuleViolation('file.deleted', `file '${fileId}' is deleted and cannot be inspected`, { fileId });
  }
  return file;
}

function requireExisting(state: InspectionState, inspectionId: string) {
  if (!state.request) throw new NotFound('inspection', inspectionId);
  return state.request;
}

/** Exists, not closed and not finally failed: results may still be recorded. */
function requireOpen(state: InspectionState, inspectionId: string) {
  const request = requireExisting(state, inspectionId);
  if (state.status === 'closed') throw closed(inspectionId);
  if (state.status === 'failed') {
    throw new DomainRuleViolation('inspection.failed', `inspection '${inspectionId}' failed finally`, { inspectionId });
  }
  return request;
}

function requireShadow(request: InspectionRequest, model: ModelRef, inspectionId: string): ModelRef {
  const key = modelKey(model);
  const shadow = request.shadows.find((s) => modelKey(s) === key);
  if (!shadow) {
    throw new DomainRuleViolation('inspection.not-a-shadow', `${key} is not a shadow of this inspection`, {
      inspectionId,
      model: key,
    });
  }
  return shadow;
}

function requireSameModel(expected: ModelRef, actual: ModelRef, inspectionId: string) {
  const sameSha = expected.sha256 === null || expected.sha256 === actual.sha256;
  if (modelKey(expected) !== modelKey(actual) || !sameSha) {
    throw new DomainRuleViolation(
      'inspection.model-mismatch',
      `detections come from ${modelKey(actual)} (${actual.sha256 ?? 'no hash'}), the inspection asked for ${modelKey(expected)} (${expected.sha256 ?? 'no hash'})`,
      { inspectionId, expected, actual },
    );
  }
}

type InspectionRequest = EventData<'InspectionRequested'>;

const closed = (inspectionId: string) =>
  new DomainRuleViolation('inspection.closed', `inspection '${inspectionId}' is closed`, { inspectionId });
