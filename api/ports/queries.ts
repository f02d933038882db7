/** A read-model row as the API returns it: plain JSON. */
export type ReadModel = Record<string, unknown>;

export interface Page<T = ReadModel> {
  readonly items: readonly T[];
  /** Opaque; pass back as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

export interface PageRequest {
  readonly limit: number;
  readonly cursor?: string;
}

/** A read model row plus the version of its stream that it reflects (the ETag). */
export interface Versioned<T = ReadModel> {
  readonly value: T;
  readonly streamVersion: number;
}

/** The read side as the API calls it (Postgres read models, eventually consistent). */
export interface ApiQueries {
  getFile(fileId: string): Promise<Versioned | undefined>;
  listFiles(request: PageRequest & { tag?: string; uploadedBy?: string }): Promise<Page>;
  getInspection(inspectionId: string): Promise<Versioned | undefined>;
  listInspections(request: PageRequest & { fileId?: string; status?: string; modelName?: string }): Promise<Page>;
  getModel(name: string): Promise<Versioned | undefined>;
  listModels(request: PageRequest): Promise<Page>;
  getUser(userId: string): Promise<Versioned | undefined>;
  reviewStats(request: { modelName?: string }): Promise<readonly ReadModel[]>;
  dailyDefects(request: { from?: string; to?: string; className?: string }): Promise<readonly ReadModel[]>;
  auditTrail(
    request: PageRequest & { streamId?: string; actor?: string; type?: string; from?: string; to?: string },
  ): Promise<Page>;
  /** Each projection's checkpoint and lag, for readiness and for clients judging staleness. */
  projectionStatus(): Promise<readonly ReadModel[]>;
}

/** Folds an aggregate from its events up to a time or a global position (time travel). */
export interface AggregateHistory {
  loadAsOf(
    streamId: string,
    at: { asOf: Date } | { toGlobalPosition: number },
  ): Promise<{ state: unknown; streamVersion: number; lastGlobalPosition: number } | undefined>;
}

export interface DetectionSearch {
  className?: string;
  minScore?: number;
  maxScore?: number;
  modelName?: string;
  from?: string;
  to?: string;
  text?: string;
  limit: number;
  cursor?: string;
}

export interface AuditSearch {
  actor?: string;
  action?: string;
  text?: string;
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
}

/** Search indexes (Elasticsearch, or Postgres full-text in embedded mode). */
export interface ApiSearch {
  searchDetections(query: DetectionSearch): Promise<Page>;
  searchAudit(query: AuditSearch): Promise<Page>;
}

/** Recomputes the hash chains and seals; names the first broken event. */
export interface AuditVerifier {
  verify(): Promise<{ ok: boolean; checkedEvents: number; firstBroken?: ReadModel }>;
}
