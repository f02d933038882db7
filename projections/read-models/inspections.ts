import { z } from 'zod';
import { Thresholds } from '../../schemas/events/common.js';
import type { RecordedEvent } from '../../schemas/events/index.js';
import type { Projection, TableNames } from '../projection.js';
import { addToCounters, insertRows, loadRows, type Tx, upsertRows } from '../sql.js';
import { col, defineTable } from '../table.js';
import { type Decoded, decode } from './decode.js';

/** One read model for the inspection stream: inspections, their boxes, reviews and the statistics over them. */
const ModelRef = z.object({ name: z.string(), version: z.string(), sha256: z.string().nullable() });
export const INSPECTION_STATUSES = ['requested', 'running', 'retrying', 'detected', 'failed', 'closed'] as const;
export const ACCEPTANCE_VERDICTS = ['accept', 'reject', 'indeterminate'] as const;
export const REVIEW_VERDICTS = ['confirmed', 'rejected', 'relabelled'] as const;

export const inspectionsTable = defineTable(
  'inspections',
  {
    inspection_id: col.text(),
    file_id: col.text(),
    file_sha256: col.text().nullable(),
    model_name: col.text(),
    model_version: col.text(),
    model_sha256: col.text().nullable(),
    selection_reason: col.text(),
    selection_roll: col.double().nullable(),
    traffic_weights: col.jsonb(z.record(z.string(), z.number())),
    shadows: col.jsonb(z.array(ModelRef)),
    thresholds: col.jsonb(Thresholds),
    requested_by: col.text(),
    requested_at: col.timestamptz(),
    requested_position: col.bigint(),
    /** requested → running → detected | retrying → failed; closed at the end. */
    status: col.oneOf(INSPECTION_STATUSES),
    attempts: col.integer(),
    worker: col.text().nullable(),
    started_at: col.timestamptz().nullable(),
    failure_code: col.text().nullable(),
    failure_reason: col.text().nullable(),
    failed_at: col.timestamptz().nullable(),
    detected_at: col.timestamptz().nullable(),
    detection_count: col.integer(),
    shadow_runs: col.integer(),
    queue_ms: col.double().nullable(),
    preprocess_ms: col.double().nullable(),
    inference_ms: col.double().nullable(),
    postprocess_ms: col.double().nullable(),
    batch_size: col.integer().nullable(),
    cached: col.boolean().nullable(),
    reviewed_count: col.integer(),
    confirmed_count: col.integer(),
    rejected_count: col.integer(),
    relabelled_count: col.integer(),
    outcome: col.oneOf(['accepted', 'rejected', 'inconclusive']).nullable(),
    closed_at: col.timestamptz().nullable(),
    closed_by: col.text().nullable(),
    close_note: col.text().nullable(),
    /** The latest InspectionEvaluated: accept | reject | indeterminate, and against which profile revision. */
    verdict: col.oneOf(ACCEPTANCE_VERDICTS).nullable(),
    verdict_profile_id: col.text().nullable(),
    verdict_profile_revision: col.integer().nullable(),
    evaluated_by: col.text().nullable(),
    evaluated_at: col.timestamptz().nullable(),
    reports_issued: col.integer(),
    updated_at: col.timestamptz(),
    last_position: col.bigint(),
    /** The inspection stream's version at last_position: the ETag, without a read of the stream. */
    stream_version: col.integer(),
  },
  {
    primaryKey: ['inspection_id'],
    indexes: [
      '(requested_position)',
      '(status, requested_position)',
      '(model_name, model_version, requested_position)',
      '(file_id)',
      '(verdict, requested_position)',
    ],
  },
);
export type InspectionRow = typeof inspectionsTable.Row;

export const detectionsTable = defineTable(
  'detections',
  {
    inspection_id: col.text(),
    role: col.oneOf(['live', 'shadow']),
    model_name: col.text(),
    model_version: col.text(),
    detection_id: col.text(),
    ordinal: col.integer(),
    file_id: col.text().nullable(),
    class_id: col.integer(),
    class_name: col.text(),
    score: col.double(),
    x1: col.double(),
    y1: col.double(),
    x2: col.double(),
    y2: col.double(),
    /** Size in mm (longer side, shorter side, area in mm²); null when the file's pixel spacing is unknown. */
    length_mm: col.double().nullable(),
    width_mm: col.double().nullable(),
    area_mm2: col.double().nullable(),
    recorded_at: col.timestamptz(),
    recorded_position: col.bigint(),
    /** Latest human verdict on a live box: confirmed | rejected | relabelled, null while unreviewed. */
    verdict: col.oneOf(REVIEW_VERDICTS).nullable(),
    relabelled_to: col.text().nullable(),
    reviewed_by: col.text().nullable(),
    reviewed_at: col.timestamptz().nullable(),
  },
  {
    primaryKey: ['inspection_id', 'role', 'model_name', 'model_version', 'detection_id'],
    indexes: ['(recorded_position, ordinal)', '(class_name, recorded_position)', '(model_name, model_version)'],
  },
);
export type DetectionRow = typeof detectionsTable.Row;

export const reviewsTable = defineTable(
  'reviews',
  {
    position: col.bigint(),
    inspection_id: col.text(),
    detection_id: col.text(),
    class_name: col.text().nullable(),
    verdict: col.oneOf(REVIEW_VERDICTS),
    new_class_name: col.text().nullable(),
    comment: col.text().nullable(),
    reviewer: col.text(),
    reviewed_at: col.timestamptz(),
  },
  { primaryKey: ['position'], indexes: ['(inspection_id)'] },
);

/** Current verdicts per detected class (a re-review moves the count), plus all review events. */
export const reviewStatsTable = defineTable(
  'review_stats',
  {
    class_name: col.text(),
    confirmed: col.integer(),
    rejected: col.integer(),
    relabelled: col.integer(),
    reviews: col.integer(),
  },
  { primaryKey: ['class_name'] },
);

/** Live detections per UTC day and class. */
export const dailyDefectStatsTable = defineTable(
  'daily_defect_stats',
  {
    day: col.date(),
    class_name: col.text(),
    detections: col.integer(),
    inspections: col.integer(),
    /** Σ score in millionths: integers add up the same in any batch split. */
    score_sum_micro: col.bigint(),
  },
  { primaryKey: ['day', 'class_name'] },
);

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

type Verdict = (typeof REVIEW_VERDICTS)[number];
const VERDICT_COUNT = {
  confirmed: 'confirmed_count',
  rejected: 'rejected_count',
  relabelled: 'relabelled_count',
} as const;
type ReviewRow = typeof reviewsTable.Row;
type DailyRow = typeof dailyDefectStatsTable.Row;

const detectionKey = (r: DetectionRow) =>
  `${r.inspection_id}\u0000${r.role}\u0000${r.model_name}\u0000${r.model_version}\u0000${r.detection_id}`;
const liveKey = (inspectionId: string, detectionId: string) => `${inspectionId}\u0000${detectionId}`;

/** Batch-local state: rows loaded once, changed in memory, written back with one statement per table. */
class InspectionBatch {
  readonly detections = new Map<string, DetectionRow>();
  readonly dirtyDetections = new Set<string>();
  readonly dirtyInspections = new Set<string>();
  readonly reviews: ReviewRow[] = [];
  readonly reviewDeltas = new Map<
    string,
    { confirmed: number; rejected: number; relabelled: number; reviews: number }
  >();
  readonly dailyDeltas = new Map<string, DailyRow>();
  /** Latest live box per (inspection, detection id), which is what a review refers to. */
  readonly live = new Map<string, DetectionRow>();

  constructor(readonly inspections: Map<string, InspectionRow>) {}

  addDetection(row: DetectionRow): void {
    const key = detectionKey(row);
    this.detections.set(key, row);
    this.dirtyDetections.add(key);
    if (row.role === 'live') this.live.set(liveKey(row.inspection_id, row.detection_id), row);
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

function touch(row: InspectionRow, event: RecordedEvent): void {
  row.updated_at = event.recordedAt;
  row.last_position = event.globalPosition;
  row.stream_version = event.streamVersion;
}

function applyOne(batch: InspectionBatch, { event, domain }: Decoded): void {
  const inspection = batch.inspections.get((domain.data as { inspectionId: string }).inspectionId);
  const dirty = () => {
    touch(inspection!, event);
    batch.dirtyInspections.add(inspection!.inspection_id);
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
        inspection.shadow_runs += 1;
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
      inspection.attempts = Math.max(inspection.attempts, domain.data.attempt);
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
      const className = box ? box.class_name : null;
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
      const previous: Verdict | null = box.verdict;
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
      if (previous) inspection[VERDICT_COUNT[previous]] -= 1;
      else inspection.reviewed_count += 1;
      inspection[VERDICT_COUNT[d.verdict]] += 1;
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
      inspection.reports_issued += 1;
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
    row.detections += 1;
    row.score_sum_micro += Math.round(box.score * 1e6);
    if (!seen.has(box.className)) {
      seen.add(box.className);
      row.inspections += 1;
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
  for (const raw of rows) {
    const row = detectionsTable.read(raw);
    const key = detectionKey(row);
    if (batch.detections.has(key)) continue;
    batch.detections.set(key, row);
    batch.live.set(liveKey(row.inspection_id, row.detection_id), row);
  }
}

async function apply(tx: Tx, events: readonly RecordedEvent[], tables: TableNames): Promise<void> {
  const decoded = events.map(decode);
  const inspections = await loadRows(
    tx,
    tables('inspections'),
    inspectionsTable,
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
  await insertRows(tx, tables('reviews'), reviewsTable, batch.reviews, { ignoreConflicts: true });
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
  // 5: thresholds carry classConfidence (rows projected before it have none).
  version: 5,
  tables: [inspectionsTable, detectionsTable, reviewsTable, reviewStatsTable, dailyDefectStatsTable],
  handles: INSPECTION_EVENTS,
  apply,
};
