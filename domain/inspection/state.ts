import type { EventData, EventOfType, ModelRef } from '../../schemas/events/index.js';

export type InspectionEvent = EventOfType<
  | 'InspectionRequested'
  | 'InferenceStarted'
  | 'DetectionsRecorded'
  | 'InspectionFailed'
  | 'ShadowInferenceFailed'
  | 'DetectionReviewed'
  | 'InspectionClosed'
  | 'InspectionEvaluated'
  | 'ReportIssued'
>;

/**
 * absent → pending ⇄ running → detected | failed (final) → closed.
 * A non-final failure returns the inspection to pending for the next attempt.
 */
export type InspectionStatus = 'absent' | 'pending' | 'running' | 'detected' | 'failed' | 'closed';

export interface Review {
  readonly verdict: EventData<'DetectionReviewed'>['verdict'];
  readonly newClassName: string | null;
  readonly comment: string | null;
  readonly reviewer: string;
}

export interface InspectionState {
  readonly status: InspectionStatus;
  readonly request: EventData<'InspectionRequested'> | null;
  /** Highest attempt started (0 before the first). */
  readonly attempt: number;
  readonly lastFailure: EventData<'InspectionFailed'> | null;
  /** The live result: detection id -> class name as detected, and the boxes in original pixels. */
  readonly live: {
    readonly model: ModelRef;
    readonly classes: Readonly<Record<string, string>>;
    readonly detections: EventData<'DetectionsRecorded'>['detections'];
    readonly image: EventData<'DetectionsRecorded'>['image'];
  } | null;
  /** `name@version` of each shadow whose detections are recorded. */
  readonly shadowResults: readonly string[];
  /** `name@version` of each shadow recorded as failed. */
  readonly shadowFailures: readonly string[];
  /** Latest review per detection id. */
  readonly reviews: Readonly<Record<string, Review>>;
  /** Whether the inspection ended with detections or a final failure (before any close). */
  readonly ended: 'detected' | 'failed' | null;
  readonly closure: Omit<EventData<'InspectionClosed'>, 'inspectionId'> | null;
  /** Every verdict recorded, oldest first. */
  readonly evaluations: readonly EventData<'InspectionEvaluated'>[];
  /** `<sha256> <issuer>` of every report issuance recorded. */
  readonly reportsIssued: readonly string[];
}

export const initialInspectionState = (): InspectionState => ({
  status: 'absent',
  request: null,
  attempt: 0,
  lastFailure: null,
  live: null,
  shadowResults: [],
  shadowFailures: [],
  reviews: {},
  ended: null,
  closure: null,
  evaluations: [],
  reportsIssued: [],
});

export const issuanceKey = (reportSha256: string, issuedBy: string): string => `${reportSha256} ${issuedBy}`;

export const modelKey = (model: Pick<ModelRef, 'name' | 'version'>): string => `${model.name}@${model.version}`;

/** Whether a shadow has its outcome: detections recorded, or a failure recorded instead. */
export const isShadowSettled = (state: InspectionState, shadow: Pick<ModelRef, 'name' | 'version'>): boolean =>
  state.shadowResults.includes(modelKey(shadow)) || state.shadowFailures.includes(modelKey(shadow));

export function evolveInspection(state: InspectionState, event: InspectionEvent): InspectionState {
  switch (event.type) {
    case 'InspectionRequested':
      return { ...initialInspectionState(), status: 'pending', request: event.data };
    case 'InferenceStarted':
      return { ...state, status: 'running', attempt: Math.max(state.attempt, event.data.attempt) };
    case 'DetectionsRecorded': {
      const { data } = event;
      if (data.role === 'shadow') return { ...state, shadowResults: [...state.shadowResults, modelKey(data.model)] };
      const classes = Object.fromEntries(data.detections.map((d) => [d.detectionId, d.className]));
      return {
        ...state,
        status: 'detected',
        ended: 'detected',
        live: { model: data.model, classes, detections: data.detections, image: data.image },
      };
    }
    case 'InspectionFailed':
      return event.data.final
        ? { ...state, status: 'failed', ended: 'failed', lastFailure: event.data }
        : { ...state, status: 'pending', lastFailure: event.data };
    case 'ShadowInferenceFailed':
      return { ...state, shadowFailures: [...state.shadowFailures, modelKey(event.data.model)] };
    case 'DetectionReviewed': {
      const { detectionId, verdict, newClassName, comment, reviewer } = event.data;
      return { ...state, reviews: { ...state.reviews, [detectionId]: { verdict, newClassName, comment, reviewer } } };
    }
    case 'InspectionClosed': {
      const { inspectionId: _id, ...closure } = event.data;
      return { ...state, status: 'closed', closure };
    }
    case 'InspectionEvaluated':
      return { ...state, evaluations: [...state.evaluations, event.data] };
    case 'ReportIssued':
      return {
        ...state,
        reportsIssued: [...state.reportsIssued, issuanceKey(event.data.reportSha256, event.data.issuedBy)],
      };
    default:
      return state;
  }
}
