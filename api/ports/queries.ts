import type {
  AuditTrailInput,
  DailyStatsInput,
  ListFilesInput,
  ListInspectionsInput,
} from '../../projections/queries.js';
import type {
  AuditEntryJson,
  DailyDefectStatsJson,
  FileJson,
  InspectionDetailJson,
  InspectionJson,
  IssuedReportJson,
  ModelDetailJson,
  ModelJson,
  ReviewStatsJson,
} from '../../projections/views.js';
import type { RecordedEvent } from '../../schemas/events/index.js';
import type { AuditQueryInput, DetectionQueryInput } from '../../schemas/search-query.js';

/** A read-model row as the API returns it: plain JSON. */
export type ReadModel = Record<string, unknown>;

export interface Page<T = object> {
  readonly items: readonly T[];
  /** Opaque; pass back as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

/** The Postgres read models as the API reads them (`projections/queries.ts`' ReadModelQueries fits). */
export interface ApiQueries {
  listFiles(input: ListFilesInput): Promise<Page<FileJson>>;
  /** Rows carry `position`: the global position of the last event they reflect. */
  getFile(fileId: string): Promise<FileJson | null>;
  listInspections(input: ListInspectionsInput): Promise<Page<InspectionJson>>;
  getInspection(inspectionId: string): Promise<InspectionDetailJson | null>;
  /** Who was handed the report with these exact bytes (sha256), oldest first; empty when never issued. */
  findIssuedReports(reportSha256: string): Promise<readonly IssuedReportJson[]>;
  listModels(): Promise<readonly ModelJson[]>;
  getModel(name: string): Promise<ModelDetailJson | null>;
  reviewStats(): Promise<readonly ReviewStatsJson[]>;
  dailyDefectStats(input: DailyStatsInput): Promise<readonly DailyDefectStatsJson[]>;
  auditTrail(input: AuditTrailInput): Promise<Page<AuditEntryJson>>;
  projectionStatus(): Promise<readonly ReadModel[]>;
}

/** Search indexes (Elasticsearch, or Postgres full text in embedded mode); `SearchQueries` fits. */
export interface ApiSearch {
  searchDetections(query: DetectionQueryInput): Promise<Page & { readonly freshness: object }>;
  searchAudit(query: AuditQueryInput): Promise<Page & { readonly freshness: object }>;
}

export type PointInTime = { readonly asOf: Date } | { readonly toGlobalPosition: number };

/** Aggregates folded from their events (strongly consistent; time travel). */
export interface AggregateHistory {
  /** The aggregate as of now or a past point; undefined when the stream had no events then. */
  load(
    streamId: string,
    at?: PointInTime,
  ): Promise<{ state: unknown; streamVersion: number; lastGlobalPosition: number } | undefined>;
  /** The stream's recorded events (payloads upcast to current versions), now or up to a past point. */
  events(streamId: string, at?: PointInTime): Promise<readonly RecordedEvent[]>;
  /** The version the stream had at a global position (the ETag of a read-model row at that position). */
  versionAt(streamId: string, globalPosition: number): Promise<number | undefined>;
}

/** A public seal key as the log recorded it (SealKeyActivated). */
export interface PublishedSealKeyInfo {
  readonly keyId: string;
  readonly algorithm: 'Ed25519';
  readonly publicKeyPem: string;
  readonly activatedAt: string;
  readonly globalPosition: number;
}

/** Recomputes the hash chains and seals; names the first broken event (`verifyAudit`'s report fits). */
export interface AuditVerifier {
  verify(): Promise<{ readonly ok: boolean }>;
  /** Every seal key the log recorded (published; an auditor pins them, the log is not their trust root). */
  sealKeys(): Promise<readonly PublishedSealKeyInfo[]>;
  /** The seals whose range overlaps from..to, as exported (opaque JSON objects, docs/integrity.md). */
  seals(range: { from: number; to: number }): Promise<readonly object[]>;
  /** The newest seal whose range holds this global position, or null while it is unsealed. */
  sealCovering(globalPosition: number): Promise<SealSummary | null>;
}

export interface SealSummary {
  readonly sealNumber: number;
  readonly fromPosition: number;
  readonly toPosition: number;
  readonly digest: string;
  readonly sealedAt: string;
}
