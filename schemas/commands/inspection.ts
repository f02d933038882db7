import { z } from 'zod';
import { Id, ModelName, ModelVersion, ThresholdsOverride } from '../events/common.js';
import { DetectionsRecorded, InspectionFailed, ShadowInferenceFailed } from '../events/inspection.js';

/** Inspect a file with a model: the deployment's traffic split picks the version unless one is pinned. */
export const RequestInspection = z.object({
  inspectionId: Id,
  fileId: Id,
  modelName: ModelName,
  /** Pin a registered, non-retired version instead of following the traffic split. */
  modelVersion: ModelVersion.optional(),
  /** Overrides of the deployed version's thresholds. */
  thresholds: ThresholdsOverride.optional(),
});
export type RequestInspection = z.infer<typeof RequestInspection>;

/** A processor picked the request up (attempt n of its retries). */
export const StartInference = z.object({
  inspectionId: Id,
  attempt: z.number().int().min(1),
  worker: z.string().min(1).max(200),
});
export type StartInference = z.infer<typeof StartInference>;

/** A processor's result for the live model or one shadow: the event's payload, as the processor measured it. */
export const RecordDetections = DetectionsRecorded.schema;
export type RecordDetections = z.infer<typeof RecordDetections>;

export const FailInspection = InspectionFailed.schema;
export type FailInspection = z.infer<typeof FailInspection>;

/** A shadow model's run gave no detections: recorded once, never retried. */
export const RecordShadowFailure = ShadowInferenceFailed.schema;
export type RecordShadowFailure = z.infer<typeof RecordShadowFailure>;

export const ReviewDetection = z.object({
  inspectionId: Id,
  detectionId: z.string().regex(/^d\d+$/),
  verdict: z.enum(['confirmed', 'rejected', 'relabelled']),
  /** Required when verdict = relabelled, absent otherwise. */
  newClassName: z.string().min(1).max(100).nullable().optional(),
  comment: z.string().max(2000).nullable().optional(),
});
export type ReviewDetection = z.infer<typeof ReviewDetection>;

export const CloseInspection = z.object({
  inspectionId: Id,
  outcome: z.enum(['accepted', 'rejected', 'inconclusive']),
  note: z.string().max(2000).nullable().optional(),
  /** Judge the inspection against this acceptance profile as it closes (InspectionEvaluated before InspectionClosed). */
  profileId: Id.optional(),
  /** The profile revision; the latest when absent. */
  revision: z.number().int().min(1).optional(),
});
export type CloseInspection = z.infer<typeof CloseInspection>;
