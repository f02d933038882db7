import type { RecordedEvent } from '../../schemas/events/index.js';
import type { AuditQueryInput, DetectionQueryInput } from '../../schemas/search-query.js';

/** How far the index trails the event log when a query ran. */
export interface Freshness {
  /** Global position of the last event whose effects the index holds (0 before any). */
  readonly indexedPosition: number;
  /** Highest position in the event log at query time. */
  readonly headPosition: number;
  /** headPosition - indexedPosition, never negative. */
  readonly lag: number;
  /** True when events exist that the index has not taken in yet. */
  readonly stale: boolean;
}

export interface SearchPage<T> {
  readonly items: readonly T[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
  readonly freshness: Freshness;
}

/** The latest human review of a live detection (DetectionReviewed). */
export interface DetectionReview {
  readonly verdict: 'confirmed' | 'rejected' | 'relabelled';
  /** The class the reviewer gave it; set only when relabelled. */
  readonly newClassName: string | null;
  readonly reviewer: string;
  /** ISO 8601, when the review was recorded. */
  readonly reviewedAt: string;
}

/** An inspection's acceptance verdict (InspectionEvaluated). */
export type AcceptanceVerdict = 'accept' | 'reject' | 'indeterminate';

/**
 * One box of a DetectionsRecorded event, with the file's name and tags, its latest review and its
 * inspection's latest acceptance verdict denormalised onto it.
 */
export interface DetectionHit {
  /** `<event id>:<detection id>`: the same box always has the same id. */
  readonly id: string;
  readonly eventId: string;
  readonly globalPosition: number;
  readonly inspectionId: string;
  readonly fileId: string | null;
  readonly fileName: string | null;
  readonly tags: readonly string[];
  readonly role: 'live' | 'shadow';
  readonly modelName: string;
  readonly modelVersion: string;
  readonly detectionId: string;
  readonly className: string;
  readonly classId: number;
  readonly score: number;
  readonly box: { readonly x1: number; readonly y1: number; readonly x2: number; readonly y2: number };
  /** The box in mm (longer side, shorter side, area in mm²); null when the file's pixel spacing is unknown. */
  readonly size: { readonly lengthMm: number; readonly widthMm: number; readonly areaMm2: number } | null;
  /** ISO 8601, when the event was recorded. */
  readonly recordedAt: string;
  /** Null until reviewed; shadow detections are never reviewed. */
  readonly review: DetectionReview | null;
  /** The inspection's latest acceptance verdict; null until it is evaluated. */
  readonly acceptance: AcceptanceVerdict | null;
}

/** One event of the audit trail. */
export interface AuditHit {
  readonly eventId: string;
  readonly globalPosition: number;
  readonly streamId: string;
  readonly streamVersion: number;
  readonly eventType: string;
  /** The access action for AccessRecorded (e.g. `audit.export`), else the event type. */
  readonly action: string;
  readonly actor: string;
  readonly correlationId: string | null;
  readonly recordedAt: string;
  /** Searchable words of the event: stream, type and the payload's text values. */
  readonly summary: string;
}

/** The read side's search queries, served by Elasticsearch or by Postgres full-text search. */
export interface SearchQueries {
  /** Newest first (by global position), then by id. */
  searchDetections(query: DetectionQueryInput): Promise<SearchPage<DetectionHit>>;
  /** Newest first (by global position). */
  searchAudit(query: AuditQueryInput): Promise<SearchPage<AuditHit>>;
}

export interface IndexBatchResult {
  /** The index's checkpoint after the batch. */
  readonly position: number;
  /** Events of the batch that were past the stored checkpoint (the rest were skipped as done). */
  readonly applied: number;
}

/** The write side of a search index: fed in log order by the search projector. */
export interface SearchIndex {
  /** Creates indexes/tables on first use; safe to call again. */
  prepare(): Promise<void>;
  /** Position of the last event whose effects are stored (0 before any). */
  checkpoint(): Promise<number>;
  /**
   * Applies a batch in log order and advances the checkpoint to its last position. Idempotent:
   * events at or below the stored checkpoint are skipped, and documents are keyed by event id, so a
   * batch replayed after a crash leaves the same contents. `after` is the position the caller read
   * from: when the stored checkpoint is behind it (the index was rebuilt or restored meanwhile),
   * nothing is written and SearchCheckpointBehindError says where to resume.
   */
  indexBatch(events: readonly RecordedEvent[], options?: { after?: number }): Promise<IndexBatchResult>;
  /** Makes everything indexed so far visible to queries (Elasticsearch refreshes; Postgres is immediate). */
  refresh(): Promise<void>;
}

/** The search backend cannot be reached: the caller may retry later; nothing was written. */
export class SearchUnavailableError extends Error {
  readonly code = 'search-unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The stored checkpoint is behind the caller's read position: re-read the log from `checkpoint`. */
export class SearchCheckpointBehindError extends Error {
  readonly code = 'search-checkpoint-behind';
  constructor(
    readonly checkpoint: number,
    readonly after: number,
  ) {
    super(`search index checkpoint ${checkpoint} is behind the read position ${after}: resume from ${checkpoint}`);
  }
}
