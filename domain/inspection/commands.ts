import type {
  CloseInspection,
  FailInspection,
  RecordDetections,
  RecordShadowFailure,
  RequestInspection,
  ReviewDetection,
  StartInference,
} from '../../schemas/commands/inspection.js';
import type {
  AcceptanceRule,
  EventData,
  ModelRef,
  ModelSelection,
  PixelSpacingMm,
  Thresholds,
} from '../../schemas/events/index.js';
import type { Command } from '../decider.js';

/** What the handler found in the file's stream when the inspection was requested. */
export type FileFacts = { readonly sha256: string; readonly deleted: boolean } | null;

export interface RequestInspectionData extends Pick<RequestInspection, 'inspectionId' | 'fileId'> {
  readonly file: FileFacts;
  /** Resolved by the handler from the model's deployment state (see selectModel). */
  readonly model: ModelRef;
  readonly selection: ModelSelection;
  readonly shadows: readonly ModelRef[];
  readonly thresholds: Thresholds;
}

export type RequestInspectionCommand = Command<'RequestInspection', RequestInspectionData>;
export type StartInferenceCommand = Command<'StartInference', StartInference>;
export type RecordDetectionsCommand = Command<'RecordDetections', RecordDetections>;
export type FailInspectionCommand = Command<'FailInspection', FailInspection>;
export type RecordShadowFailureCommand = Command<'RecordShadowFailure', RecordShadowFailure>;
export type ReviewDetectionCommand = Command<'ReviewDetection', ReviewDetection>;
/** A profile revision resolved by the handler, with the pixel spacing of the inspected file (null: unknown). */
export interface EvaluationBasis {
  readonly profile: { readonly profileId: string; readonly name: string; readonly revision: number };
  readonly rules: readonly AcceptanceRule[];
  readonly pixelSpacingMm: PixelSpacingMm | null;
}

/** Closing may judge the inspection against a profile in the same decision. */
export type CloseInspectionCommand = Command<
  'CloseInspection',
  CloseInspection & { readonly evaluation?: EvaluationBasis }
>;
export type EvaluateInspectionCommand = Command<
  'EvaluateInspection',
  { readonly inspectionId: string } & EvaluationBasis
>;
export type IssueReportCommand = Command<'IssueReport', Omit<EventData<'ReportIssued'>, 'issuedBy'>>;
export type InspectionCommand =
  | RequestInspectionCommand
  | StartInferenceCommand
  | RecordDetectionsCommand
  | FailInspectionCommand
  | RecordShadowFailureCommand
  | ReviewDetectionCommand
  | CloseInspectionCommand
  | EvaluateInspectionCommand
  | IssueReportCommand;
