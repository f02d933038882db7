/**
 * The JSON the REST API sends for each read-model row, declared once per table: `queries.ts` maps
 * rows with these views and `api/schemas.ts` publishes their schemas in the OpenAPI document.
 */
import { z } from 'zod';
import { auditTrailTable } from './read-models/audit-trail.js';
import { filesTable } from './read-models/files.js';
import {
  dailyDefectStatsTable,
  detectionsTable,
  inspectionsTable,
  reviewStatsTable,
  reviewsTable,
} from './read-models/inspections.js';
import { deploymentsTable, modelsTable, modelVersionsTable } from './read-models/models.js';
import { issuedReportsTable } from './read-models/reports.js';
import { shadowAgreementTable } from './read-models/shadow-comparison.js';
import { view } from './table.js';

export const fileView = view(filesTable, (v) => ({
  fileId: v.c('file_id'),
  sha256: v.c('sha256'),
  sizeBytes: v.c('size_bytes'),
  mediaType: v.c('media_type'),
  width: v.c('width'),
  height: v.c('height'),
  bitDepth: v.c('bit_depth'),
  channels: v.c('channels'),
  originalName: v.c('original_name'),
  uploadedBy: v.c('uploaded_by'),
  uploadedAt: v.c('uploaded_at'),
  tags: v.c('tags'),
  pixelSpacingMm: v.nullUnless('pixel_spacing_row_mm', {
    row: v.c('pixel_spacing_row_mm'),
    column: v.c('pixel_spacing_column_mm'),
  }),
  dicom: v.c('dicom'),
  deleted: v.c('deleted'),
  deletedAt: v.c('deleted_at'),
  deletedBy: v.c('deleted_by'),
  deleteReason: v.c('delete_reason'),
  updatedAt: v.c('updated_at'),
  position: v.c('last_position'),
  /** The stream's version at `position`: the row's ETag. */
  streamVersion: v.c('stream_version'),
}));

export const inspectionView = view(inspectionsTable, (v) => ({
  inspectionId: v.c('inspection_id'),
  fileId: v.c('file_id'),
  fileSha256: v.c('file_sha256'),
  status: v.c('status'),
  model: { name: v.c('model_name'), version: v.c('model_version'), sha256: v.c('model_sha256') },
  selection: { reason: v.c('selection_reason'), roll: v.c('selection_roll'), weights: v.c('traffic_weights') },
  shadows: v.c('shadows'),
  thresholds: v.c('thresholds'),
  requestedBy: v.c('requested_by'),
  requestedAt: v.c('requested_at'),
  attempts: v.c('attempts'),
  /** Only for callers with workers:read. */
  worker: v.redactable(v.c('worker')),
  startedAt: v.c('started_at'),
  failure: v.nullUnless('failure_code', {
    code: v.computed(z.string(), (r) => r.failure_code ?? ''),
    reason: v.computed(z.string(), (r) => r.failure_reason ?? ''),
    at: v.c('failed_at'),
  }),
  detectedAt: v.c('detected_at'),
  counts: {
    detections: v.c('detection_count'),
    shadowRuns: v.c('shadow_runs'),
    reviewed: v.c('reviewed_count'),
    confirmed: v.c('confirmed_count'),
    rejected: v.c('rejected_count'),
    relabelled: v.c('relabelled_count'),
  },
  timings: v.nullUnless('inference_ms', {
    queueMs: v.c('queue_ms'),
    preprocessMs: v.c('preprocess_ms'),
    inferenceMs: v.c('inference_ms'),
    postprocessMs: v.c('postprocess_ms'),
    batchSize: v.c('batch_size'),
    cached: v.computed(z.boolean(), (r) => r.cached === true),
  }),
  outcome: v.c('outcome'),
  closedAt: v.c('closed_at'),
  closedBy: v.c('closed_by'),
  closeNote: v.c('close_note'),
  /** The latest recorded verdict (GET /v1/inspections/{id}/evaluations has them all). */
  verdict: v.nullUnless('verdict', {
    verdict: v.computed(z.enum(['accept', 'reject', 'indeterminate']), (r) => r.verdict ?? 'indeterminate'),
    profileId: v.computed(z.string(), (r) => r.verdict_profile_id ?? ''),
    revision: v.c('verdict_profile_revision'),
    evaluatedBy: v.computed(z.string(), (r) => r.evaluated_by ?? ''),
    evaluatedAt: v.c('evaluated_at'),
  }),
  reportsIssued: v.c('reports_issued'),
  updatedAt: v.c('updated_at'),
  /** Global position of the last event the row reflects. */
  position: v.c('last_position'),
  /** The stream's version at `position`: the row's ETag. */
  streamVersion: v.c('stream_version'),
}));

export const detectionView = view(detectionsTable, (v) => ({
  inspectionId: v.c('inspection_id'),
  detectionId: v.c('detection_id'),
  role: v.c('role'),
  model: { name: v.c('model_name'), version: v.c('model_version') },
  fileId: v.c('file_id'),
  classId: v.c('class_id'),
  className: v.c('class_name'),
  score: v.c('score'),
  box: { x1: v.c('x1'), y1: v.c('y1'), x2: v.c('x2'), y2: v.c('y2') },
  size: v.nullUnless('length_mm', { lengthMm: v.c('length_mm'), widthMm: v.c('width_mm'), areaMm2: v.c('area_mm2') }),
  recordedAt: v.c('recorded_at'),
  review: v.nullUnless('verdict', {
    verdict: v.c('verdict'),
    relabelledTo: v.c('relabelled_to'),
    reviewer: v.computed(z.string(), (r) => r.reviewed_by ?? ''),
    at: v.c('reviewed_at'),
  }),
}));

export const reviewView = view(reviewsTable, (v) => ({
  detectionId: v.c('detection_id'),
  className: v.c('class_name'),
  verdict: v.c('verdict'),
  newClassName: v.c('new_class_name'),
  comment: v.c('comment'),
  reviewer: v.c('reviewer'),
  reviewedAt: v.c('reviewed_at'),
  position: v.c('position'),
}));

export const issuedReportView = view(issuedReportsTable, (v) => ({
  reportSha256: v.c('report_sha256'),
  inspectionId: v.c('inspection_id'),
  format: v.c('format'),
  sizeBytes: v.c('size_bytes'),
  asOf: v.c('as_of'),
  shadow: v.c('shadow'),
  covers: {
    streamVersion: v.c('covers_version'),
    globalPosition: v.c('covers_position'),
    eventHash: v.c('covers_hash'),
  },
  issuedBy: v.c('issued_by'),
  issuedAt: v.c('issued_at'),
  position: v.c('position'),
}));

export const modelVersionView = view(modelVersionsTable, (v) => ({
  version: v.c('version'),
  sha256: v.c('sha256'),
  sizeBytes: v.c('size_bytes'),
  outputLayout: v.c('output_layout'),
  classes: v.c('classes'),
  inputSize: { width: v.c('input_width'), height: v.c('input_height') },
  metrics: v.c('metrics'),
  description: v.c('description'),
  status: v.c('status'),
  weight: v.c('weight'),
  canary: v.c('canary'),
  shadow: v.c('shadow'),
  thresholds: v.c('thresholds'),
  registeredBy: v.c('registered_by'),
  registeredAt: v.c('registered_at'),
  deployedAt: v.c('deployed_at'),
  retiredAt: v.c('retired_at'),
  retireReason: v.c('retire_reason'),
}));

export const modelView = view(modelsTable, (v) => ({
  name: v.c('name'),
  weights: v.c('weights'),
  shadowVersions: v.c('shadow_versions'),
  registeredAt: v.c('registered_at'),
  updatedAt: v.c('updated_at'),
}));

export const deploymentView = view(deploymentsTable, (v) => ({
  kind: v.c('kind'),
  version: v.c('version'),
  fromVersion: v.c('from_version'),
  weights: v.c('weights'),
  canary: v.c('canary'),
  reason: v.c('reason'),
  actor: v.c('actor'),
  at: v.c('at'),
  position: v.c('position'),
}));

export const agreementView = view(shadowAgreementTable, (v) => ({
  shadowVersion: v.c('shadow_version'),
  inspections: v.c('inspections'),
  liveBoxes: v.c('live_boxes'),
  shadowBoxes: v.c('shadow_boxes'),
  matchedBoxes: v.c('matched'),
  /** Share of all boxes matched across every compared inspection. */
  pooledAgreement: v.computed(z.number(), (r) => {
    const boxes = r.live_boxes + r.shadow_boxes;
    return boxes === 0 ? 1 : (2 * r.matched) / boxes;
  }),
  /** Mean of the per-inspection agreement rates. */
  meanAgreement: v.computed(z.number().nullable(), (r) =>
    r.inspections === 0 ? null : r.agreement_sum_micro / 1e6 / r.inspections,
  ),
  /** Inspections where the shadow gave no detections (not in the rates). */
  failures: v.c('failures'),
}));

export const reviewStatsView = view(reviewStatsTable, (v) => ({
  className: v.c('class_name'),
  confirmed: v.c('confirmed'),
  rejected: v.c('rejected'),
  relabelled: v.c('relabelled'),
  reviewEvents: v.c('reviews'),
  /** Share of reviewed boxes of this class a human confirmed as detected. */
  precision: v.computed(z.number().nullable(), (r) => {
    const current = r.confirmed + r.rejected + r.relabelled;
    return current === 0 ? null : r.confirmed / current;
  }),
}));

export const dailyDefectStatsView = view(dailyDefectStatsTable, (v) => ({
  day: v.c('day'),
  className: v.c('class_name'),
  detections: v.c('detections'),
  inspections: v.c('inspections'),
  meanScore: v.computed(z.number().nullable(), (r) =>
    r.detections === 0 ? null : r.score_sum_micro / 1e6 / r.detections,
  ),
}));

export const auditEntryView = view(auditTrailTable, (v) => ({
  position: v.c('position'),
  recordedAt: v.c('recorded_at'),
  streamId: v.c('stream_id'),
  streamVersion: v.c('stream_version'),
  eventId: v.c('event_id'),
  type: v.c('type'),
  schemaVersion: v.c('schema_version'),
  actor: v.c('actor'),
  correlationId: v.c('correlation_id'),
  causationId: v.c('causation_id'),
  summary: v.c('summary'),
}));

/** What the API sends for each row (and the read queries return). */
export type FileJson = ReturnType<typeof fileView.map>;
export type InspectionJson = ReturnType<typeof inspectionView.map>;
export type InspectionDetailJson = InspectionJson & {
  detections: ReturnType<typeof detectionView.map>[];
  reviews: ReturnType<typeof reviewView.map>[];
};
export type IssuedReportJson = ReturnType<typeof issuedReportView.map>;
export type ModelJson = ReturnType<typeof modelView.map> & { versions: ReturnType<typeof modelVersionView.map>[] };
export type ModelDetailJson = ModelJson & {
  deployments: ReturnType<typeof deploymentView.map>[];
  shadowAgreement: ReturnType<typeof agreementView.map>[];
};
export type ReviewStatsJson = ReturnType<typeof reviewStatsView.map>;
export type DailyDefectStatsJson = ReturnType<typeof dailyDefectStatsView.map>;
export type AuditEntryJson = ReturnType<typeof auditEntryView.map>;
