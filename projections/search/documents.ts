/**
 * Pure planning of what a batch of events writes to a search index: detection documents with the
 * file's name and tags and the latest human review denormalised onto them, audit documents, tag and
 * review updates of earlier detection documents, and the small lookup ("facts") the projection keeps
 * to do that. No I/O: both adapters load the facts the batch needs, call planSearchBatch and store
 * its plan.
 */
import { type ChittiEvent, decodeStored, isEventType, type RecordedEvent } from '../../schemas/events/index.js';
import { searchWords } from '../../schemas/search-query.js';
import type { AcceptanceVerdict, AuditHit, DetectionHit, DetectionReview } from './ports.js';

/** A stored detection: the hit plus the words its file name and tags are searched by. */
export interface DetectionDocument extends DetectionHit {
  readonly searchText: string;
}

export interface AuditDocument extends AuditHit {
  readonly searchText: string;
}

/** What the projection remembers about a file to denormalise it onto detections. */
export interface FileFacts {
  readonly fileId: string;
  readonly name: string | null;
  readonly tags: readonly string[];
  /** Ids of the detection documents showing this file's name and tags. */
  readonly detectionDocIds: readonly string[];
}

/** Which file an inspection looked at, which event holds its live detections (the ones reviewed), its verdict. */
export interface InspectionFacts {
  readonly inspectionId: string;
  readonly fileId: string;
  readonly liveDetectionsEventId: string | null;
  /** The latest acceptance verdict, denormalised onto the inspection's detection documents. */
  readonly verdict: AcceptanceVerdict | null;
  /** Ids of the inspection's detection documents (live and shadow), which show its verdict. */
  readonly detectionDocIds: readonly string[];
}

/** Facts as stored by a version before verdicts: no verdict, no document ids (a rebuild fills them). */
export const inspectionFactsOf = (stored: {
  inspectionId: string;
  fileId: string;
  liveDetectionsEventId?: string | null;
  verdict?: AcceptanceVerdict | null;
  detectionDocIds?: readonly string[] | null;
}): InspectionFacts => ({
  inspectionId: stored.inspectionId,
  fileId: stored.fileId,
  liveDetectionsEventId: stored.liveDetectionsEventId ?? null,
  verdict: stored.verdict ?? null,
  detectionDocIds: stored.detectionDocIds ?? [],
});

export interface SearchFacts {
  readonly files: ReadonlyMap<string, FileFacts>;
  readonly inspections: ReadonlyMap<string, InspectionFacts>;
}

/** New name/tags for detection documents written by earlier batches. */
export interface Retag {
  readonly fileId: string;
  readonly fileName: string | null;
  readonly tags: readonly string[];
  readonly searchText: string;
  readonly docIds: readonly string[];
}

/** A new acceptance verdict for detection documents written by earlier batches. */
export interface Reverdict {
  readonly inspectionId: string;
  readonly verdict: AcceptanceVerdict;
  readonly docIds: readonly string[];
}

/** The latest review of a detection document written by an earlier batch. */
export interface ReviewUpdate {
  readonly docId: string;
  readonly review: DetectionReview;
}

export interface SearchBatchPlan {
  /** Full documents, written whole (the same id always gets the same content). */
  readonly detections: readonly DetectionDocument[];
  readonly audit: readonly AuditDocument[];
  /** Partial updates of documents from earlier batches; apply after `detections`. */
  readonly retags: readonly Retag[];
  /** Partial updates of documents from earlier batches, one per document; apply after `detections`. */
  readonly reviews: readonly ReviewUpdate[];
  /** Partial updates of documents from earlier batches, per inspection evaluated; apply after `detections`. */
  readonly verdicts: readonly Reverdict[];
  /** Facts changed by the batch, to store. */
  readonly files: readonly FileFacts[];
  readonly inspections: readonly InspectionFacts[];
  /** Global position of the batch's last event (0 for an empty batch). */
  readonly position: number;
}

/** An event as the search projection reads it: upcast when this build knows its type. */
export interface DecodedEvent {
  readonly recorded: RecordedEvent;
  readonly event: ChittiEvent | null;
}

/**
 * Upcasts older versions of known types; unknown (newer) types still reach the audit trail.
 * Current-version payloads were validated by the event store on append and are taken as they are:
 * parsing every event again on every replay would double the projection's CPU cost.
 */
export function decodeEvents(events: readonly RecordedEvent[]): DecodedEvent[] {
  return events.map((recorded) => {
    if (!isEventType(recorded.type)) return { recorded, event: null };
    return { recorded, event: decodeStored(recorded) };
  });
}

export const detectionDocId = (eventId: string, detectionId: string): string => `${eventId}:${detectionId}`;

/** Inspections whose facts the batch needs (load these first). */
export function inspectionIdsNeeded(decoded: readonly DecodedEvent[]): string[] {
  const ids = new Set<string>();
  for (const { event } of decoded) {
    if (
      event?.type === 'DetectionsRecorded' ||
      event?.type === 'DetectionReviewed' ||
      event?.type === 'InspectionEvaluated'
    ) {
      ids.add(event.data.inspectionId);
    }
  }
  return [...ids];
}

/** Files whose facts the batch needs, given the inspections' facts. */
export function fileIdsNeeded(
  decoded: readonly DecodedEvent[],
  inspections: ReadonlyMap<string, InspectionFacts>,
): string[] {
  const ids = new Set<string>();
  for (const { event } of decoded) {
    if (!event) continue;
    switch (event.type) {
      case 'FileUploaded':
      case 'FileTagged':
        ids.add(event.data.fileId);
        break;
      case 'InspectionRequested':
        ids.add(event.data.fileId);
        break;
      case 'DetectionsRecorded': {
        const fileId = inspections.get(event.data.inspectionId)?.fileId;
        if (fileId) ids.add(fileId);
        break;
      }
      default:
        break;
    }
  }
  return [...ids];
}

export function fileSearchText(name: string | null, tags: readonly string[]): string {
  return searchWords([name ?? '', ...tags].join(' ')).join(' ');
}

interface PendingDetection {
  readonly doc: Omit<DetectionDocument, 'fileName' | 'tags' | 'searchText' | 'review' | 'acceptance'>;
}

export function planSearchBatch(decoded: readonly DecodedEvent[], facts: SearchFacts): SearchBatchPlan {
  const files = new Map(facts.files);
  const inspections = new Map(facts.inspections);
  const changedFiles = new Set<string>();
  const retagged = new Set<string>();
  const changedInspections = new Set<string>();
  const reverdicted = new Set<string>();
  const pending: PendingDetection[] = [];
  const reviews = new Map<string, DetectionReview>();
  const audit: AuditDocument[] = [];
  const fileOf = (fileId: string): FileFacts =>
    files.get(fileId) ?? { fileId, name: null, tags: [], detectionDocIds: [] };

  for (const { recorded, event } of decoded) {
    audit.push(auditDocumentOf(recorded, event));
    if (!event) continue;
    switch (event.type) {
      case 'FileUploaded': {
        const before = fileOf(event.data.fileId);
        files.set(event.data.fileId, { ...before, name: event.data.originalName, tags: uniqueTags(event.data.tags) });
        changedFiles.add(event.data.fileId);
        retagged.add(event.data.fileId);
        break;
      }
      case 'FileTagged': {
        const before = fileOf(event.data.fileId);
        const removed = new Set(event.data.removed);
        const tags = uniqueTags([...before.tags.filter((t) => !removed.has(t)), ...event.data.added]);
        files.set(event.data.fileId, { ...before, tags });
        changedFiles.add(event.data.fileId);
        retagged.add(event.data.fileId);
        break;
      }
      case 'InspectionRequested': {
        const before = inspections.get(event.data.inspectionId);
        inspections.set(event.data.inspectionId, {
          inspectionId: event.data.inspectionId,
          fileId: event.data.fileId,
          liveDetectionsEventId: before?.liveDetectionsEventId ?? null,
          verdict: before?.verdict ?? null,
          detectionDocIds: before?.detectionDocIds ?? [],
        });
        changedInspections.add(event.data.inspectionId);
        break;
      }
      case 'InspectionEvaluated': {
        const inspection = inspections.get(event.data.inspectionId);
        if (!inspection) break;
        inspections.set(inspection.inspectionId, { ...inspection, verdict: event.data.verdict });
        changedInspections.add(inspection.inspectionId);
        reverdicted.add(inspection.inspectionId);
        break;
      }
      case 'DetectionsRecorded': {
        const inspection = inspections.get(event.data.inspectionId);
        const fileId = inspection?.fileId ?? null;
        // The stream opens with InspectionRequested, so the facts exist in any history the decider wrote.
        if (inspection && event.data.role === 'live') {
          inspections.set(inspection.inspectionId, { ...inspection, liveDetectionsEventId: recorded.eventId });
          changedInspections.add(inspection.inspectionId);
        }
        const ids: string[] = [];
        for (const d of event.data.detections) {
          const id = detectionDocId(recorded.eventId, d.detectionId);
          ids.push(id);
          pending.push({
            doc: {
              id,
              eventId: recorded.eventId,
              globalPosition: recorded.globalPosition,
              inspectionId: event.data.inspectionId,
              fileId,
              role: event.data.role,
              modelName: event.data.model.name,
              modelVersion: event.data.model.version,
              detectionId: d.detectionId,
              className: d.className,
              classId: d.classId,
              score: d.score,
              box: d.box,
              size: d.size ?? null,
              recordedAt: recorded.recordedAt.toISOString(),
            },
          });
        }
        if (inspection) {
          const current = inspections.get(inspection.inspectionId)!;
          inspections.set(inspection.inspectionId, {
            ...current,
            detectionDocIds: [...new Set([...current.detectionDocIds, ...ids])],
          });
          changedInspections.add(inspection.inspectionId);
        }
        if (fileId) {
          const before = fileOf(fileId);
          files.set(fileId, { ...before, detectionDocIds: [...new Set([...before.detectionDocIds, ...ids])] });
          changedFiles.add(fileId);
        }
        break;
      }
      case 'DetectionReviewed': {
        // The decider accepts reviews of live detections only.
        const eventId = inspections.get(event.data.inspectionId)?.liveDetectionsEventId;
        if (!eventId) break;
        reviews.set(detectionDocId(eventId, event.data.detectionId), {
          verdict: event.data.verdict,
          newClassName: event.data.newClassName,
          reviewer: event.data.reviewer,
          reviewedAt: recorded.recordedAt.toISOString(),
        });
        break;
      }
      default:
        break;
    }
  }

  // Documents of this batch carry the file's state at the end of the batch; earlier ones get retagged.
  const written = new Set<string>();
  const detections = pending.map(({ doc }): DetectionDocument => {
    written.add(doc.id);
    const file = doc.fileId ? files.get(doc.fileId) : undefined;
    const fileName = file?.name ?? null;
    const tags = file?.tags ?? [];
    return {
      ...doc,
      fileName,
      tags,
      review: reviews.get(doc.id) ?? null,
      acceptance: inspections.get(doc.inspectionId)?.verdict ?? null,
      searchText: fileSearchText(fileName, tags),
    };
  });
  const retags: Retag[] = [];
  for (const fileId of retagged) {
    const file = files.get(fileId)!;
    const docIds = file.detectionDocIds.filter((id) => !written.has(id));
    if (docIds.length === 0) continue;
    retags.push({
      fileId,
      fileName: file.name,
      tags: file.tags,
      searchText: fileSearchText(file.name, file.tags),
      docIds,
    });
  }
  const verdicts: Reverdict[] = [];
  for (const inspectionId of reverdicted) {
    const inspection = inspections.get(inspectionId)!;
    const docIds = inspection.detectionDocIds.filter((id) => !written.has(id));
    if (docIds.length > 0 && inspection.verdict) verdicts.push({ inspectionId, verdict: inspection.verdict, docIds });
  }
  const reviewUpdates = [...reviews]
    .filter(([docId]) => !written.has(docId))
    .map(([docId, review]): ReviewUpdate => ({ docId, review }));
  const last = decoded[decoded.length - 1];
  return {
    detections,
    audit,
    retags,
    reviews: reviewUpdates,
    verdicts,
    files: [...changedFiles].map((id) => files.get(id)!),
    inspections: [...changedInspections].map((id) => inspections.get(id)!),
    position: last ? last.recorded.globalPosition : 0,
  };
}

const uniqueTags = (tags: readonly string[]): string[] => [...new Set(tags)];

/** Payload keys whose values are hashes or secrets: kept out of search text. */
const UNSEARCHED_KEY = /sha256|secret|password|token/i;
const MAX_SUMMARY_CHARS = 2000;

function textLeaves(value: unknown, out: string[], depth = 0): void {
  if (out.length >= 64 || depth > 4) return;
  if (typeof value === 'string') out.push(value.slice(0, 200));
  else if (Array.isArray(value)) for (const v of value) textLeaves(v, out, depth + 1);
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (!UNSEARCHED_KEY.test(key)) textLeaves(v, out, depth + 1);
    }
  }
}

export function auditDocumentOf(recorded: RecordedEvent, event: ChittiEvent | null): AuditDocument {
  const leaves: string[] = [];
  textLeaves(event ? event.data : recorded.data, leaves);
  const summary = [recorded.type, recorded.streamId, ...leaves].join(' ').slice(0, MAX_SUMMARY_CHARS);
  const action = event?.type === 'AccessRecorded' ? event.data.action : recorded.type;
  return {
    eventId: recorded.eventId,
    globalPosition: recorded.globalPosition,
    streamId: recorded.streamId,
    streamVersion: recorded.streamVersion,
    eventType: recorded.type,
    action,
    actor: recorded.metadata.actor,
    correlationId: recorded.metadata.correlationId ?? null,
    recordedAt: recorded.recordedAt.toISOString(),
    summary,
    searchText: searchWords(summary).join(' '),
  };
}

/** Hits as queries return them: the stored documents without their search-only field. */
export function detectionHitOf(doc: DetectionDocument): DetectionHit {
  const { searchText: _searchText, ...hit } = doc;
  return hit;
}

export function auditHitOf(doc: AuditDocument): AuditHit {
  const { searchText: _searchText, ...hit } = doc;
  return hit;
}
