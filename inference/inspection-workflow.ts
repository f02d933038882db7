import { type InspectionState, isShadowSettled, modelKey } from '../domain/inspection/index.js';
import type { EventData, ModelRef } from '../schemas/events/index.js';
import type { InspectionRequest, ProcessOutcome } from './ports/request-source.js';

export type FailureCode = EventData<'InspectionFailed'>['code'];

/** Why a model gave no result, and whether another attempt may help. */
export interface Failure {
  readonly code: FailureCode;
  readonly message: string;
  readonly retryable: boolean;
}

export type Role = 'live' | 'shadow';

/**
 * What happened last: the delivery of the request, or what the runner saw when it carried out the
 * previous step. `refused` marks a command the inspection refused (a domain rule); the runner then
 * hands in the stream's fresh state, so the workflow can tell a race with another delivery (the
 * inspection ended meanwhile) from a rule that will not pass on retry.
 */
export type Outcome =
  | { readonly type: 'Delivered' }
  | { readonly type: 'Started'; readonly attempt: number }
  | { readonly type: 'StartRefused'; readonly attempt: number; readonly message: string }
  | { readonly type: 'Recorded'; readonly role: Role; readonly model: ModelRef; readonly cached: boolean }
  | {
      readonly type: 'ModelFailed';
      readonly role: Role;
      readonly model: ModelRef;
      readonly failure: Failure;
      /** The failure was the inspection refusing the result (a domain rule), not the model. */
      readonly refused: boolean;
    }
  | { readonly type: 'FailureRecorded'; readonly attempt: number; readonly failure: Failure; readonly final: boolean }
  | { readonly type: 'FailureRefused' }
  | { readonly type: 'ShadowFailureSettled'; readonly model: ModelRef }
  | { readonly type: 'BackedOff' };

/** The next thing to do: a command to record, a model to run (and its result to record), a pause, or the end. */
export type Step =
  | { readonly type: 'StartInference'; readonly attempt: number }
  | { readonly type: 'RunModel'; readonly role: Role; readonly model: ModelRef }
  | {
      readonly type: 'FailInspection';
      readonly attempt: number;
      readonly failure: Failure;
      readonly reason: string;
      readonly final: boolean;
    }
  | {
      readonly type: 'RecordShadowFailure';
      readonly model: ModelRef;
      readonly failure: Failure;
      readonly reason: string;
    }
  | { readonly type: 'Backoff'; readonly attempt: number }
  | { readonly type: 'Done'; readonly outcome: ProcessOutcome };

/** What one delivery has done so far (the inspection's own progress is in its state). */
export interface Progress {
  /** The live attempt this delivery works on (0 before the first). */
  readonly attempt: number;
  /** Whether the prediction cache served the live result. */
  readonly cached: boolean;
  /** `name@version` of the shadows this delivery recorded, and of those that failed. */
  readonly recorded: readonly string[];
  readonly failed: readonly string[];
}

export const initialProgress = (): Progress => ({ attempt: 0, cached: false, recorded: [], failed: [] });

export interface WorkflowOptions {
  /** Attempts per inspection, counted across redeliveries. */
  readonly maxAttempts: number;
}

/** Folds the latest outcome into the delivery's progress. */
export function evolveProgress(progress: Progress, latest: Outcome): Progress {
  switch (latest.type) {
    case 'Started':
    case 'StartRefused':
      return { ...progress, attempt: latest.attempt };
    case 'Recorded':
      if (latest.role === 'live') return { ...progress, cached: latest.cached };
      return { ...progress, recorded: [...progress.recorded, modelKey(latest.model)] };
    case 'ModelFailed':
      return latest.role === 'shadow'
        ? { ...progress, failed: [...progress.failed, modelKey(latest.model)] }
        : progress;
    default:
      return progress;
  }
}

/**
 * The inspection workflow: from the inspection's state (as the last command left it), this
 * delivery's progress and the latest outcome, the next step. The live model first: start an
 * attempt, run, record; a failure is recorded, and retried with backoff while it is retryable and
 * attempts remain (counted across redeliveries from the stream); then each shadow not yet
 * settled, whose failure is recorded once and never affects the inspection. Pure: no I/O, no
 * clock; the runner carries out each step and reports back.
 */
export function nextStep(
  request: InspectionRequest,
  state: InspectionState,
  progress: Progress,
  latest: Outcome,
  options: WorkflowOptions,
): Step {
  const { inspectionId } = request.data;
  const alreadyDone: Step = { type: 'Done', outcome: { inspectionId, status: 'already-done' } };
  switch (latest.type) {
    case 'Delivered': {
      if (state.status === 'closed' || state.status === 'failed' || state.status === 'absent') return alreadyDone;
      if (state.live) {
        if (request.data.shadows.every((shadow) => isShadowSettled(state, shadow))) return alreadyDone;
        return nextShadow(request, state, progress);
      }
      return startAttempt(Math.max(state.attempt, state.lastFailure?.attempt ?? 0) + 1, options);
    }
    case 'Started':
      return { type: 'RunModel', role: 'live', model: request.data.model };
    case 'StartRefused':
      if (finished(state)) return alreadyDone;
      return failLive(latest.attempt, { code: 'internal', message: latest.message, retryable: false }, true);
    case 'Recorded':
      return nextShadow(request, state, progress);
    case 'ModelFailed': {
      if (latest.role === 'shadow') {
        return {
          type: 'RecordShadowFailure',
          model: latest.model,
          failure: latest.failure,
          reason: reasonOf(latest.failure),
        };
      }
      if (latest.refused && finished(state)) return alreadyDone;
      const final = !latest.failure.retryable || progress.attempt >= options.maxAttempts;
      return failLive(progress.attempt, latest.failure, final);
    }
    case 'FailureRecorded':
      if (!latest.final) return { type: 'Backoff', attempt: latest.attempt };
      return {
        type: 'Done',
        outcome: {
          inspectionId,
          status: 'failed',
          code: latest.failure.code,
          reason: reasonOf(latest.failure),
          attempt: latest.attempt,
        },
      };
    case 'FailureRefused':
      // Only a race is expected here: another delivery recorded the result or the final failure.
      if (finished(state)) return alreadyDone;
      throw new Error(`inspection ${inspectionId} refused a failure record while unfinished`);
    case 'ShadowFailureSettled':
      return nextShadow(request, state, progress);
    case 'BackedOff':
      return startAttempt(progress.attempt + 1, options);
  }
}

function startAttempt(attempt: number, options: WorkflowOptions): Step {
  if (attempt > options.maxAttempts) {
    // Attempts were used up by earlier deliveries that ended without a final verdict.
    const message = `no result after ${options.maxAttempts} attempts`;
    return failLive(attempt, { code: 'internal', message, retryable: false }, true);
  }
  return { type: 'StartInference', attempt };
}

function failLive(attempt: number, failure: Failure, final: boolean): Step {
  return { type: 'FailInspection', attempt, failure, reason: reasonOf(failure), final };
}

function nextShadow(request: InspectionRequest, state: InspectionState, progress: Progress): Step {
  const tried = new Set([...progress.recorded, ...progress.failed]);
  const shadow = request.data.shadows.find((s) => !tried.has(modelKey(s)) && !isShadowSettled(state, s));
  if (shadow) return { type: 'RunModel', role: 'shadow', model: shadow };
  return {
    type: 'Done',
    outcome: {
      inspectionId: request.data.inspectionId,
      status: 'recorded',
      cached: progress.cached,
      shadows: { recorded: progress.recorded, failed: progress.failed },
    },
  };
}

/** Whether the inspection has its verdict (another delivery may have written it meanwhile). */
function finished(state: InspectionState): boolean {
  return state.status === 'detected' || state.status === 'failed' || state.status === 'closed';
}

/** The reason InspectionFailed and ShadowInferenceFailed record: the message, bounded, or the code. */
export function reasonOf(failure: Failure): string {
  return failure.message.slice(0, 2000) || failure.code;
}
