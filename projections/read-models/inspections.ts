import type { RecordedEvent } from '../../schemas/events/index.js';
import type { Projection, TableNames } from '../projection.js';
import { addToCounters, insertRows, loadRows, type Row, type TableSpec, type Tx, upsertRows } from '../sql.js';
import { type Decoded, decode } from './decode.js';

/** One read model for the inspection stream: inspections, their boxes, reviews and the statistics over them. */
export const inspectionsTable: TableSpec = {
  name: 'inspections',
  columns: [
    { name: 'inspection_id', type: 'text' },
    { name: 'file_id', type: 'text' },
    { name: 'file_sha256', type: 'text', nullable: true },
    { name: 'model_name', type: 'text' },
    { name: 'model_version', type: 'text' },
    { name: 'model_sha256', type: 'text', nullable: true },
    { name: 'selection_reason', type: 'text' },
    { name: 'selection_roll', type: 'double precision', nullable: true },
    { name: 'traffic_weights', type: 'jsonb' },
    { name: 'shadows', type: 'jsonb' },
    { name: 'thresholds', type: 'jsonb' },
    { name: 'requested_by', type: 'text' },
    { name: 'requested_at', type: 'timestamptz' },
    { name: 'requested_position', type: 'bigint' },
    /** requested → running → detected | retrying → failed; closed at the end. */
    { name: 'status', type: 'text' },
    { name: 'attempts', type: 'integer' },
    { name: 'worker', type: 'text', nullable: true },
    { name: 'started_at', type: 'timestamptz', nullable: true },
    { name: 'failure_code', type: 'text', nullable: true },
    { name: 'failure_reason', type: 'text', nullable: true },
    { name: 'failed_at', type: 'timestamptz', nullable: true },
    { name: 'detected_at', type: 'timestamptz', nullable: true },
    { name: 'detection_count', type: 'integer' },
    { name: 'shadow_runs', type: 'integer' },
    { name: 'queue_ms', type: 'double precision', nullable: true },
    { name: 'preprocess_ms', type: 'double precision', nullable: true },
    { name: 'inference_ms', type: 'double precision', nullable: true },
    { name: 'postprocess_ms', type: 'double precision', nullable: true },
    { name: 'batch_size', type: 'integer', nullable: true },
    { name: 'cached', type: 'boolean', nullable: true },
    { name: 'reviewed_count', type: 'integer' },
    { name: 'confirmed_count', type: 'integer' },
    { name: 'rejected_count', type: 'integer' },
    { name: 'relabelled_count', type: 'integer' },
    { name: 'outcome', type: 'text', nullable: true },
    { name: 'closed_at', type: 'timestamptz', nullable: true },
    { name: 'closed_by', type: 'text', nullable: true },
    { name: 'close_note', type: 'text', nullable: true },
    /** The latest InspectionEvaluated: accept | reject | indeterminate, and against which profile revision. */
    { name: 'verdict', type: 'text', nullable: true },
    { name: 'verdict_profile_id', type: 'text', nullable: true },
    { name: 'verdict_profile_revision', type: 'integer', nullable: true },
    { name: 'evaluated_by', type: 'text', nullable: true },
    { name: 'evaluated_at', type: 'timestamptz', nullable: true },
    { name: 'reports_issued', type: 'integer' },
    { name: 'updated_at', type: 'timestamptz' },
    { name: 'last_position', type: 'bigint' },
    /** The inspection stream's version at last_position: the ETag, without a read of the stream. */
    { name: 'stream_version', type: 'integer' },
  ],
  primaryKey: ['inspection_id'],
  indexes: [
    '(requested_position)',
    '(status, requested_position)',
    '(model_name, model_version, requested_position)',
    '(file_id)',
    '(verdict, requested_position)',
  ],
};

export const detectionsTable: TableSpec = {
  name: 'detections',
  columns: [
    { name: 'inspection_id', type: 'text' },
    { name: 'role', type: 'text' },
    { name: 'model_name', type: 'text' },
    { name: 'model_version', type: 'text' },
    { name: 'detection_id', type: 'text' },
    { name: 'ordinal', type: 'integer' },
    { name: 'file_id', type: 'text', nullable: true },
    { name: 'class_id', type: 'integer' },
    { name: 'class_name', type: 'text' },
    { name: 'score', type: 'double precision' },
    { name: 'x1', type: 'double precision' },
    { name: 'y1', type: 'double precision' },
    { name: 'x2', type: 'double precision' },
    { name: 'y2', type: 'double precision' },
    /** Size in mm (longer side, shorter side, area in mm²); null when the file's pixel spacing is unknown. */
    { name: 'length_mm', type: 'double precision', nullable: true },
    { name: 'width_mm', type: 'double precision', nullable: true },
    { name: 'area_mm2', type: 'double precision', nullable: true },
    { name: 'recorded_at', type: 'timestamptz' },
    { name: 'recorded_position', type: 'bigint' },
    /** Latest human verdict on a live box: confirmed | rejected | relabelled, null while unreviewed. */
    { name: 'verdict', type: 'text', nullable: true },
    { name: 'relabelled_to', type: 'text', nullable: true },
    { name: 'reviewed_by', type: 'text', nullable: true },
    { name: 'reviewed_at', type: 'timestamptz', nullable: true },
  ],
  primaryKey: ['inspection_id', 'role', 'model_name', 'model_version', 'detection_id'],
  indexes: ['(recorded_position, ordinal)', '(class_name, recorded_position)', '(model_name, model_version)'],
};

export const reviewsTable: TableSpec = {
  name: 'reviews',
  columns: [
    { name: 'position', type: 'bigint' },
    { name: 'inspection_id', type: 'text' },
    { name: 'detection_id', type: 'text' },
    { name: 'class_name', type: 'text', nullable: true },
    { name: 'verdict', type: 'text' },
    { name: 'new_class_name', type: 'text', nullable: true },
    { name: 'comment', type: 'text', nullable: true },
    { name: 'reviewer', type: 'text' },
    { name: 'reviewed_at', type: 'timestamptz' },
  ],
  primaryKey: ['position'],
  indexes: ['(inspection_id)'],
};

/** Current verdicts per detected class (a re-review moves the count), plus all review events. */
export const reviewStatsTable: TableSpec = {
  name: 'review_stats',
  columns: [
    { name: 'class_name', type: 'text' },
    { name: 'confirmed', type: 'integer' },
    { name: 'rejected', type: 'integer' },
    { name: 'relabelled', type: 'integer' },
    { name: 'reviews', type: 'integer' },
  ],
  primaryKey: ['class_name'],
};

/** Live detections per UTC day and class. */
export const dailyDefectStatsTable: TableSpec = {
  name: 'daily_defect_stats',
  columns: [
    { name: 'day', type: 'date' },
    { name: 'class_name', type: 'text' },
    { name: 'detections', type: 'integer' },
    { name: 'inspections', type: 'integer' },
    /** Σ score in millionths: integers add up the same in any batch split. */
    { name: 'score_sum_micro', type: 'bigint' },
  ],
  primaryKey: ['day', 'class_name'],
};

const INSPECTION_EVENTS = new Set([
  'InspectionRequested',
  'InferenceStarted',
  'DetectionsRecorded',
  'InspectionFailed',
  'DetectionReviewed',
  'InspectionClosed',
  'InspectionEvaluated',
  'ReportIssued',
]);

type Verdict = 'confirmed' | 'rejected' | 'relabelled';
const VERDICT_COUNT = { confirmed: 'confirmed_count', rejected: 'rejected_count', relabelled: 'relabelled_count' };

const detectionKey = (r: Row) =>
  `${r.inspection_id}\u0000${r.role}\u0000${r.model_name}\u0000${r.model_version}\u0000${r.detection_id}`;
const liveKey = (inspectionId: string, detectionId: string) => `${inspectionId}\u0000${detectionId}`;

/** Batch-local state: rows loaded once, changed in memory, written back with one statement per table. */
class InspectionBatch {
  readonly detections = new Map<string, Row>();
  readonly dirtyDetections = new Set<string>();
  readonly dirtyInspections = new Set<string>();
  readonly reviews: Row[] = [];
  readonly reviewDeltas = new Map<
    string,
    { confirmed: number; rejected: number; relabelled: number; reviews: number }
  >();
  readonly dailyDeltas = new Map<string, Row>();
  /** Latest live box per (inspection, detection id), which is what a review refers to. */
  readonly live = new Map<string, Row>();

  constructor(readonly inspections: Map<string, Row>) {}

  addDetection(row: Row): void {
    const key = detectionKey(row);
    this.detections.set(key, row);
    this.dirtyDetections.add(key);
    if (row.role === 'live') this.live.set(liveKey(String(row.inspection_id), String(row.detection_id)), row);
  }

  reviewDelta(className: string) {
    let delta = this.reviewDeltas.get(className);
    if (!delta) {
      delta = { confirmed: 0, rejected: 0, relabelled: 0, reviews: 0 };
      this.reviewDeltas.set(className, delta);
    }
    return delta;
  }
}

function touch(row: Row, event: RecordedEvent): void {
  row.updated_at = event.recordedAt;
  row.last_position = event.globalPosition;
  row.stream_version = event.streamVersion;
}

function applyOne(batch: InspectionBatch, { event, domain }: Decoded): void {
  const inspection = batch.inspections.get((domain.data as { inspectionId: string }).inspectionId);
  const dirty = () => {
    touch(inspection!, event);
    batch.dirtyInspections.add(String(inspection!.inspection_id));
  };
  switch (domain.type) {
    case 'InspectionRequested': {
      const d = domain.data;
      batch.inspections.set(d.inspectionId, {
        inspection_id: d.inspectionId,
        file_id: d.fileId,
        file_sha256: d.fileSha256,
        model_name: d.model.name,
        model_version: d.model.version,
        model_sha256: d.model.sha256,
        selection_reason: d.selection.reason,
        selection_roll: d.selection.roll,
        traffic_weights: d.selection.weights,
        shadows: d.shadows,
        thresholds: d.thresholds,
        requested_by: d.requestedBy,
        requested_at: event.recordedAt,
        requested_position: event.globalPosition,
        status: 'requested',
        attempts: 0,
        worker: null,
        started_at: null,
        failure_code: null,
        failure_reason: null,
        failed_at: null,
        detected_at: null,
        detection_count: 0,
        shadow_runs: 0,
        queue_ms: null,
        preprocess_ms: null,
        inference_ms: null,
        postprocess_ms: null,
        batch_size: null,
        cached: null,
        reviewed_count: 0,
        confirmed_count: 0,
        rejected_count: 0,
        relabelled_count: 0,
        outcome: null,
        closed_at: null,
        closed_by: null,
        close_note: null,
        verdict: null,
        verdict_profile_id: null,
        verdict_profile_revision: null,
        evaluated_by: null,
        evaluated_at: null,
        reports_issued: 0,
        updated_at: event.recordedAt,
        last_position: event.globalPosition,
        stream_version: event.streamVersion,
      });
      batch.dirtyInspections.add(d.inspectionId);
      return;
    }
    case 'InferenceStarted': {
      if (!inspection) return;
      inspection.attempts = domain.data.attempt;
      inspection.worker = domain.data.worker;
      inspection.started_at = event.recordedAt;
      if (inspection.status !== 'closed') inspection.status = 'running';
      dirty();
      return;
    }
    case 'DetectionsRecorded': {
      const d = domain.data;
      d.detections.forEach((box, ordinal) => {
        batch.addDetection({
          inspection_id: d.inspectionId,
          role: d.role,
          model_name: d.model.name,
          model_version: d.model.version,
          detection_id: box.detectionId,
          ordinal,
          file_id: inspection?.file_id ?? null,
          class_id: box.classId,
          class_name: box.className,
          score: box.score,
          x1: box.box.x1,
          y1: box.box.y1,
          x2: box.box.x2,
          y2: box.box.y2,
          length_mm: box.size?.lengthMm ?? null,
          width_mm: box.size?.widthMm ?? null,
          area_mm2: box.size?.areaMm2 ?? null,
          recorded_at: event.recordedAt,
          recorded_position: event.globalPosition,
          verdict: null,
          relabelled_to: null,
          reviewed_by: null,
          reviewed_at: null,
        });
      });
      if (d.role === 'live') countDailyDefects(batch, event, d.detections);
      if (!inspection) return;
      if (d.role === 'shadow') {
        inspection.shadow_runs = Number(inspection.shadow_runs) + 1;
      } else {
        inspection.detection_count = d.detections.length;
        inspection.detected_at = event.recordedAt;
        inspection.queue_ms = d.timings.queueMs;
        inspection.preprocess_ms = d.timings.preprocessMs;
        inspection.inference_ms = d.timings.inferenceMs;
        inspection.postprocess_ms = d.timings.postprocessMs;
        inspection.batch_size = d.batchSize;
        inspection.cached = d.cached;
        if (inspection.status !== 'closed') inspection.status = 'detected';
      }
      dirty();
      return;
    }
    case 'InspectionFailed': {
      if (!inspection) return;
      inspection.attempts = Math.max(Number(inspection.attempts), domain.data.attempt);
      inspection.failure_code = domain.data.code;
      inspection.failure_reason = domain.data.reason;
      inspection.failed_at = event.recordedAt;
      if (inspection.status !== 'closed') inspection.status = domain.data.final ? 'failed' : 'retrying';
      dirty();
      return;
    }
    case 'DetectionReviewed': {
      const d = domain.data;
      const box = batch.live.get(liveKey(d.inspectionId, d.detectionId));
      const className = box ? String(box.class_name) : null;
      batch.reviews.push({
        position: event.globalPosition,
        inspection_id: d.inspectionId,
        detection_id: d.detectionId,
        class_name: className,
        verdict: d.verdict,
        new_class_name: d.newClassName,
        comment: d.comment,
        reviewer: d.reviewer,
        reviewed_at: event.recordedAt,
      });
      if (!box || className === null) return;
      const previous = box.verdict as Verdict | null;
      if (previous) batch.reviewDelta(className)[previous] -= 1;
      const delta = batch.reviewDelta(className);
      delta[d.verdict] += 1;
      delta.reviews += 1;
      box.verdict = d.verdict;
      box.relabelled_to = d.verdict === 'relabelled' ? d.newClassName : null;
      box.reviewed_by = d.reviewer;
      box.reviewed_at = event.recordedAt;
      batch.dirtyDetections.add(detectionKey(box));
      if (!inspection) return;
      if (previous) inspection[VERDICT_COUNT[previous]] = Number(inspection[VERDICT_COUNT[previous]]) - 1;
      else inspection.reviewed_count = Number(inspection.reviewed_count) + 1;
      inspection[VERDICT_COUNT[d.verdict]] = Number(inspection[VERDICT_COUNT[d.verdict]]) + 1;
      dirty();
      return;
    }
    case 'InspectionClosed': {
      if (!inspection) return;
      inspection.status = 'closed';
      inspection.outcome = domain.data.outcome;
      inspection.closed_at = event.recordedAt;
      inspection.closed_by = domain.data.closedBy;
      inspection.close_note = domain.data.note;
      dirty();
      return;
    }
    case 'InspectionEvaluated': {
      if (!inspection) return;
      inspection.verdict = domain.data.verdict;
      inspection.verdict_profile_id = domain.data.profile.profileId;
      inspection.verdict_profile_revision = domain.data.profile.revision;
      inspection.evaluated_by = domain.data.evaluatedBy;
      inspection.evaluated_at = event.recordedAt;
      dirty();
      return;
    }
    case 'ReportIssued': {
      if (!inspection) return;
      inspection.reports_issued = Number(inspection.reports_issued) + 1;
      dirty();
      return;
    }
    default:
      return;
  }
}

export const utcDay = (at: Date): string => at.toISOString().slice(0, 10);

function countDailyDefects(
  batch: InspectionBatch,
  event: RecordedEvent,
  detections: readonly { className: string; score: number }[],
): void {
  const day = utcDay(event.recordedAt);
  const seen = new Set<string>();
  for (const box of detections) {
    const key = `${day}\u0000${box.className}`;
    let row = batch.dailyDeltas.get(key);
    if (!row) {
      row = { day, class_name: box.className, detections: 0, inspections: 0, score_sum_micro: 0 };
      batch.dailyDeltas.set(key, row);
    }
    row.detections = Number(row.detections) + 1;
    row.score_sum_micro = Number(row.score_sum_micro) + Math.round(box.score * 1e6);
    if (!seen.has(box.className)) {
      seen.add(box.className);
      row.inspections = Number(row.inspections) + 1;
    }
  }
}

/** Live boxes reviewed in this batch but recorded in an earlier one. */
async function loadReviewedBoxes(tx: Tx, table: string, decoded: readonly Decoded[], batch: InspectionBatch) {
  const wanted: { inspection: string[]; detection: string[] } = { inspection: [], detection: [] };
  const recordedHere = new Set<string>();
  for (const { domain } of decoded) {
    if (domain.type === 'DetectionsRecorded' && domain.data.role === 'live') {
      for (const box of domain.data.detections) recordedHere.add(liveKey(domain.data.inspectionId, box.detectionId));
    } else if (domain.type === 'DetectionReviewed') {
      const key = liveKey(domain.data.inspectionId, domain.data.detectionId);
      if (!recordedHere.has(key)) {
        wanted.inspection.push(domain.data.inspectionId);
        wanted.detection.push(domain.data.detectionId);
      }
    }
  }
  if (wanted.inspection.length === 0) return;
  const { rows } = await tx.query(
    `SELECT d.* FROM ${table} d
       JOIN unnest($1::text[], $2::text[]) AS w(inspection_id, detection_id)
         ON d.inspection_id = w.inspection_id AND d.detection_id = w.detection_id
      WHERE d.role = 'live'
      ORDER BY d.recorded_position`,
    [wanted.inspection, wanted.detection],
  );
  for (const row of rows as Row[]) {
    const key = detectionKey(row);
    if (batch.detections.has(key)) continue;
    batch.detections.set(key, row);
    batch.live.set(liveKey(String(row.inspection_id), String(row.detection_id)), row);
  }
}

async function apply(tx: Tx, events: readonly RecordedEvent[], tables: TableNames): Promise<void> {
  const decoded = events.map(decode);
  const inspections = await loadRows(
    tx,
    tables('inspections'),
    'inspection_id',
    decoded
      .filter((d) => d.domain.type !== 'InspectionRequested')
      .map((d) => (d.domain.data as { inspectionId: string }).inspectionId),
  );
  const batch = new InspectionBatch(inspections);
  await loadReviewedBoxes(tx, tables('detections'), decoded, batch);
  for (const d of decoded) applyOne(batch, d);

  await upsertRows(
    tx,
    tables('inspections'),
    inspectionsTable,
    [...batch.dirtyInspections].map((id) => batch.inspections.get(id)!),
  );
  await upsertRows(
    tx,
    tables('detections'),
    detectionsTable,
    [...batch.dirtyDetections].map((key) => batch.detections.get(key)!),
  );
  await insertRows(tx, tables('reviews'), reviewsTable.columns, batch.reviews, { ignoreConflicts: true });
  await addToCounters(
    tx,
    tables('review_stats'),
    reviewStatsTable,
    ['confirmed', 'rejected', 'relabelled', 'reviews'],
    [...batch.reviewDeltas].map(([className, delta]) => ({ class_name: className, ...delta })),
  );
  await addToCounters(
    tx,
    tables('daily_defect_stats'),
    dailyDefectStatsTable,
    ['detections', 'inspections', 'score_sum_micro'],
    [...batch.dailyDeltas.values()],
  );
}

export const inspectionsProjection: Projection = {
  name: 'inspections',
  // 2: detections carry their size in mm.
  // 3: stream_version (the ETag of GET /v1/inspections/{id} without reading the stream).
  // 4: the latest verdict and the count of issued reports.
  version: 4,
  tables: [inspectionsTable, detectionsTable, reviewsTable, reviewStatsTable, dailyDefectStatsTable],
  handles: INSPECTION_EVENTS,
  apply,
};
