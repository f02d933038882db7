/**
 * The search port on PostgreSQL full-text search (embedded mode): tables in schema `search`,
 * a `tsvector` per document with a GIN index. Each batch, its facts and the checkpoint commit in
 * one transaction, so the effect is exactly once.
 *
 * Upgrades: columns added since the first release are added where missing, and the checkpoint row
 * records the schema version its contents were built with. prepare() replaces contents of an older
 * version (e.g. detections indexed before reviews were) by replaying the log.
 */
import type pg from 'pg';
import type { GlobalLog } from '../../commands/ports/event-store.js';
import { isDependencyUnavailable } from '../../commands/ports/unavailable.js';
import {
  type AuditDocument,
  type DetectionDocument,
  decodeEvents,
  type FileFacts,
  fileIdsNeeded,
  type InspectionFacts,
  inspectionIdsNeeded,
  planSearchBatch,
} from '../../projections/search/documents.js';
import {
  type AcceptanceVerdict,
  type AuditHit,
  type DetectionHit,
  type DetectionReview,
  type Freshness,
  type IndexBatchResult,
  SearchCheckpointBehindError,
  type SearchIndex,
  type SearchPage,
  type SearchQueries,
  SearchUnavailableError,
} from '../../projections/search/ports.js';
import { inTransaction } from '../../projections/transaction.js';
import type { RecordedEvent } from '../../schemas/events/index.js';
import {
  type AuditQueryInput,
  type DetectionQueryInput,
  nextCursorOf,
  parseAuditQuery,
  parseDetectionQuery,
  type SearchCursor,
} from '../../schemas/search-query.js';

const SCHEMA_SQL = `
CREATE SCHEMA IF NOT EXISTS search;
CREATE TABLE IF NOT EXISTS search.detections (
  id text PRIMARY KEY,
  event_id text NOT NULL,
  global_position bigint NOT NULL,
  inspection_id text NOT NULL,
  file_id text,
  file_name text,
  tags text[] NOT NULL,
  role text NOT NULL,
  model_name text NOT NULL,
  model_version text NOT NULL,
  detection_id text NOT NULL,
  class_name text NOT NULL,
  class_id integer NOT NULL,
  score real NOT NULL,
  box jsonb NOT NULL,
  recorded_at timestamptz NOT NULL,
  search_text tsvector NOT NULL
);
CREATE INDEX IF NOT EXISTS detections_text ON search.detections USING gin (search_text);
CREATE INDEX IF NOT EXISTS detections_order ON search.detections (global_position DESC, id COLLATE "C");
CREATE INDEX IF NOT EXISTS detections_class ON search.detections (class_name, global_position DESC);
CREATE INDEX IF NOT EXISTS detections_model ON search.detections (model_name, model_version);
CREATE INDEX IF NOT EXISTS detections_time ON search.detections (recorded_at);
CREATE INDEX IF NOT EXISTS detections_file ON search.detections (file_id);
CREATE TABLE IF NOT EXISTS search.audit (
  event_id text PRIMARY KEY,
  global_position bigint NOT NULL,
  stream_id text NOT NULL,
  stream_version integer NOT NULL,
  event_type text NOT NULL,
  action text NOT NULL,
  actor text NOT NULL,
  correlation_id text,
  recorded_at timestamptz NOT NULL,
  summary text NOT NULL,
  search_text tsvector NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_text ON search.audit USING gin (search_text);
CREATE INDEX IF NOT EXISTS audit_order ON search.audit (global_position DESC);
CREATE INDEX IF NOT EXISTS audit_actor ON search.audit (actor, global_position DESC);
CREATE INDEX IF NOT EXISTS audit_type ON search.audit (event_type, global_position DESC);
CREATE INDEX IF NOT EXISTS audit_action ON search.audit (action, global_position DESC);
CREATE INDEX IF NOT EXISTS audit_time ON search.audit (recorded_at);
CREATE TABLE IF NOT EXISTS search.files (
  file_id text PRIMARY KEY,
  name text,
  tags text[] NOT NULL,
  detection_doc_ids text[] NOT NULL
);
CREATE TABLE IF NOT EXISTS search.inspections (
  inspection_id text PRIMARY KEY,
  file_id text NOT NULL
);
CREATE TABLE IF NOT EXISTS search.checkpoint (
  name text PRIMARY KEY,
  position bigint NOT NULL
);
`;

/** Bump when what the tables hold changes: prepare() then rebuilds contents of an older version. */
const SCHEMA_VERSION = 3;

/**
 * Columns added after the tables were first created (version 0, before versions were recorded).
 * ALTER TABLE locks the table exclusively even when the column exists, so only missing ones are added.
 */
const ADDED_COLUMNS: readonly { table: string; column: string; type: string }[] = [
  { table: 'checkpoint', column: 'schema_version', type: 'integer NOT NULL DEFAULT 0' },
  { table: 'detections', column: 'review_verdict', type: 'text' },
  { table: 'detections', column: 'review_new_class_name', type: 'text' },
  { table: 'detections', column: 'reviewer', type: 'text' },
  { table: 'detections', column: 'reviewed_at', type: 'timestamptz' },
  { table: 'inspections', column: 'live_detections_event_id', type: 'text' },
  // schema version 2: detections carry their size in mm.
  { table: 'detections', column: 'size', type: 'jsonb' },
  // schema version 3: detections carry their inspection's acceptance verdict.
  { table: 'detections', column: 'acceptance', type: 'text' },
  { table: 'inspections', column: 'verdict', type: 'text' },
  { table: 'inspections', column: 'detection_doc_ids', type: "text[] NOT NULL DEFAULT '{}'" },
];

const AFTER_COLUMNS_SQL = `
CREATE INDEX IF NOT EXISTS detections_verdict ON search.detections (review_verdict, global_position DESC);
CREATE INDEX IF NOT EXISTS detections_acceptance ON search.detections (acceptance, global_position DESC);
INSERT INTO search.checkpoint (name, position, schema_version) VALUES ('search', 0, ${SCHEMA_VERSION})
  ON CONFLICT (name) DO NOTHING;
`;

export interface PostgresSearchOptions {
  /** Highest position of the event log (GlobalLog.headPosition), for staleness reporting. */
  readonly headPosition: () => Promise<number>;
  /**
   * The log prepare() rebuilds contents of an older schema version from. Without it prepare()
   * empties them and resets the checkpoint to 0, and the projector refills them.
   */
  readonly log?: GlobalLog;
}

async function guarded<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isDependencyUnavailable(error))
      throw new SearchUnavailableError(`postgres search: ${what} failed`, { cause: error });
    throw error;
  }
}

export class PostgresSearch implements SearchIndex, SearchQueries {
  constructor(
    private readonly pool: pg.Pool,
    private readonly options: PostgresSearchOptions,
  ) {}

  async prepare(): Promise<void> {
    await guarded('prepare', async () => {
      await this.pool.query(SCHEMA_SQL);
      const { rows } = await this.pool.query<{ table_name: string; column_name: string }>(
        `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'search'`,
      );
      const present = new Set(rows.map((r) => `${r.table_name}.${r.column_name}`));
      for (const { table, column, type } of ADDED_COLUMNS) {
        if (present.has(`${table}.${column}`)) continue;
        await this.pool.query(`ALTER TABLE search.${table} ADD COLUMN IF NOT EXISTS ${column} ${type}`);
      }
      await this.pool.query(AFTER_COLUMNS_SQL);
      const { rows: version } = await this.pool.query<{ schema_version: number }>(
        `SELECT schema_version FROM search.checkpoint WHERE name = 'search'`,
      );
      if ((version[0]?.schema_version ?? SCHEMA_VERSION) < SCHEMA_VERSION) await this.upgrade();
    });
  }

  /** Rebuilds contents of an older schema version; another process may have done so meanwhile. */
  private async upgrade(): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ schema_version: number }>(
        `SELECT schema_version FROM search.checkpoint WHERE name = 'search' FOR UPDATE`,
      );
      if ((rows[0]?.schema_version ?? SCHEMA_VERSION) >= SCHEMA_VERSION) return;
      await replaceContents(client, this.options.log ?? null);
    });
  }

  async checkpoint(): Promise<number> {
    return guarded('checkpoint', async () => {
      const { rows } = await this.pool.query<{ position: string }>(
        `SELECT position FROM search.checkpoint WHERE name = 'search'`,
      );
      return Number(rows[0]?.position ?? 0);
    });
  }

  async refresh(): Promise<void> {
    // Committed rows are visible at once.
  }

  indexBatch(events: readonly RecordedEvent[], options: { after?: number } = {}): Promise<IndexBatchResult> {
    return guarded('indexBatch', () =>
      inTransaction(this.pool, async (client) => {
        const stored = await lockCheckpoint(client);
        if (options.after !== undefined && stored < options.after) {
          throw new SearchCheckpointBehindError(stored, options.after);
        }
        return applyBatch(client, stored, events);
      }),
    );
  }

  /**
   * Replays the whole log into the tables in one transaction. Readers keep seeing the old
   * contents (MVCC: rows are deleted, not truncated, so no lock blocks them) until the commit
   * swaps in the new ones at once; a projector waits on the checkpoint row meanwhile and then
   * continues from the rebuilt checkpoint.
   */
  rebuild(log: GlobalLog, options: { batchSize?: number } = {}): Promise<IndexBatchResult> {
    return guarded('rebuild', () =>
      inTransaction(this.pool, async (client) => {
        await lockCheckpoint(client);
        return replaceContents(client, log, options.batchSize);
      }),
    );
  }

  async searchDetections(input: DetectionQueryInput): Promise<SearchPage<DetectionHit>> {
    const query = parseDetectionQuery(input);
    return guarded('searchDetections', async () => {
      const where = new Where();
      if (query.className !== undefined) where.add('class_name = ?', query.className);
      // Scores are float4; a bound below its range (1e-300) would fail the cast, so it is rounded to float4 first.
      if (query.minScore !== undefined) where.add('score >= ?::real', Math.fround(query.minScore));
      if (query.maxScore !== undefined) where.add('score <= ?::real', Math.fround(query.maxScore));
      if (query.model !== undefined) where.add('model_name = ?', query.model);
      if (query.modelVersion !== undefined) where.add('model_version = ?', query.modelVersion);
      if (query.minLengthMm !== undefined) where.add(`(size->>'lengthMm')::float8 >= ?::float8`, query.minLengthMm);
      if (query.verdict === 'unreviewed') where.add(`role = 'live' AND review_verdict IS NULL`);
      else if (query.verdict !== undefined) where.add('review_verdict = ?', query.verdict);
      if (query.acceptance !== undefined) where.add('acceptance = ?', query.acceptance);
      addCommon(where, query);
      const { rows, indexedPosition } = await this.pageAt<DetectionRow>(
        `SELECT id, event_id, global_position, inspection_id, file_id, file_name, tags, role, model_name,
                model_version, detection_id, class_name, class_id, score, box, size, recorded_at, review_verdict,
                review_new_class_name, reviewer, reviewed_at, acceptance
           FROM search.detections ${where.sql()}`,
        'global_position DESC, id COLLATE "C" ASC',
        query.limit,
        where.params,
      );
      const items = rows.map(detectionHitOfRow);
      return { items, nextCursor: nextCursorOf(items, query.limit), freshness: await this.freshness(indexedPosition) };
    });
  }

  async searchAudit(input: AuditQueryInput): Promise<SearchPage<AuditHit>> {
    const query = parseAuditQuery(input);
    return guarded('searchAudit', async () => {
      const where = new Where();
      if (query.actor !== undefined) where.add('actor = ?', query.actor);
      if (query.eventType !== undefined) where.add('event_type = ?', query.eventType);
      if (query.action !== undefined) where.add('action = ?', query.action);
      addCommon(where, query, 'event_id');
      const { rows, indexedPosition } = await this.pageAt<AuditRow>(
        `SELECT event_id, global_position, stream_id, stream_version, event_type, action, actor, correlation_id,
                recorded_at, summary
           FROM search.audit ${where.sql()}`,
        'global_position DESC, event_id COLLATE "C" ASC',
        query.limit,
        where.params,
      );
      const items = rows.map(auditHitOfRow);
      const keyed = items.map((h) => ({ globalPosition: h.globalPosition, id: h.eventId }));
      return { items, nextCursor: nextCursorOf(keyed, query.limit), freshness: await this.freshness(indexedPosition) };
    });
  }

  /**
   * A page of hits and the checkpoint they reflect, in one statement: one round trip, and one
   * snapshot, so the page holds exactly what was indexed up to `indexedPosition`. `select` has no
   * ORDER BY or LIMIT; `order` names its output columns.
   */
  private async pageAt<R extends { global_position: string | number }>(
    select: string,
    order: string,
    limit: number,
    params: readonly unknown[],
  ): Promise<{ rows: R[]; indexedPosition: number }> {
    const { rows } = await this.pool.query<R & { indexed_position: string }>(
      `SELECT checkpoint.position AS indexed_position, hit.*
         FROM (SELECT COALESCE((SELECT position FROM search.checkpoint WHERE name = 'search'), 0) AS position) checkpoint
         LEFT JOIN LATERAL (${select} ORDER BY ${order} LIMIT ${limit}) hit ON true
        ORDER BY ${order}`,
      [...params],
    );
    // No hit: the one row carries the checkpoint alone.
    return {
      rows: rows.filter((row) => row.global_position !== null),
      indexedPosition: Number(rows[0]?.indexed_position ?? 0),
    };
  }

  /** Head is read after the query: the reported lag never understates. */
  private async freshness(indexedPosition: number): Promise<Freshness> {
    const headPosition = await this.options.headPosition();
    const lag = Math.max(0, headPosition - indexedPosition);
    return { indexedPosition, headPosition, lag, stale: lag > 0 };
  }
}

/** Builds a parameterised WHERE clause: `?` marks the one parameter of each condition. */
class Where {
  readonly params: unknown[] = [];
  private readonly conditions: string[] = [];

  add(condition: string, ...values: unknown[]): void {
    let text = condition;
    for (const value of values) {
      this.params.push(value);
      text = text.replace('?', `$${this.params.length}`);
    }
    this.conditions.push(text);
  }

  sql(): string {
    return this.conditions.length === 0 ? '' : `WHERE ${this.conditions.join(' AND ')}`;
  }
}

/**
 * Replaces every table's contents by a replay of `log` (none: empty, for the projector to refill)
 * inside the caller's transaction, which holds the checkpoint row. Readers keep the old contents
 * until the commit (rows are deleted, not truncated).
 */
async function replaceContents(
  client: pg.ClientBase,
  log: GlobalLog | null,
  batchSize = 1000,
): Promise<IndexBatchResult> {
  for (const table of ['detections', 'audit', 'files', 'inspections']) {
    await client.query(`DELETE FROM search.${table}`);
  }
  let result: IndexBatchResult = { position: 0, applied: 0 };
  let applied = 0;
  for (;;) {
    const batch = log ? await log.readAll({ after: result.position, maxCount: batchSize }) : [];
    if (batch.length === 0) break;
    result = await applyBatch(client, result.position, batch);
    applied += result.applied;
  }
  await client.query(`UPDATE search.checkpoint SET position = $1, schema_version = $2 WHERE name = 'search'`, [
    result.position,
    SCHEMA_VERSION,
  ]);
  return { position: result.position, applied };
}

/** Locks the checkpoint row for the transaction: one writer at a time, in log order. */
async function lockCheckpoint(client: pg.ClientBase): Promise<number> {
  const { rows } = await client.query<{ position: string }>(
    `SELECT position FROM search.checkpoint WHERE name = 'search' FOR UPDATE`,
  );
  return Number(rows[0]?.position ?? 0);
}

/** Applies the events past `stored` inside the caller's transaction and advances the checkpoint. */
async function applyBatch(
  client: pg.ClientBase,
  stored: number,
  events: readonly RecordedEvent[],
): Promise<IndexBatchResult> {
  const fresh = events.filter((e) => e.globalPosition > stored);
  if (fresh.length === 0) return { position: stored, applied: 0 };
  const decoded = decodeEvents(fresh);
  const inspections = await loadInspections(client, inspectionIdsNeeded(decoded));
  const files = await loadFiles(client, fileIdsNeeded(decoded, inspections));
  const plan = planSearchBatch(decoded, { files, inspections });
  await writeDetections(client, plan.detections);
  await writeAudit(client, plan.audit);
  if (plan.retags.length > 0) {
    await client.query(
      `UPDATE search.detections d
          SET file_name = r.file_name, tags = r.tags, search_text = to_tsvector('simple', r.search_text)
         FROM jsonb_to_recordset($1::jsonb) AS r(file_id text, file_name text, tags text[], search_text text)
        WHERE d.file_id = r.file_id`,
      [
        JSON.stringify(
          plan.retags.map((r) => ({
            file_id: r.fileId,
            file_name: r.fileName,
            tags: r.tags,
            search_text: r.searchText,
          })),
        ),
      ],
    );
  }
  if (plan.reviews.length > 0) {
    await client.query(
      `UPDATE search.detections d
          SET review_verdict = r.verdict, review_new_class_name = r."newClassName", reviewer = r.reviewer,
              reviewed_at = r."reviewedAt"
         FROM jsonb_to_recordset($1::jsonb) AS r(id text, verdict text, "newClassName" text, reviewer text,
              "reviewedAt" timestamptz)
        WHERE d.id = r.id`,
      [JSON.stringify(plan.reviews.map((r) => ({ id: r.docId, ...r.review })))],
    );
  }
  if (plan.verdicts.length > 0) {
    await client.query(
      `UPDATE search.detections d SET acceptance = v.verdict
         FROM (SELECT r.verdict, unnest(r."docIds") AS id
                 FROM jsonb_to_recordset($1::jsonb) AS r(verdict text, "docIds" text[])) v
        WHERE d.id = v.id`,
      [JSON.stringify(plan.verdicts)],
    );
  }
  await writeFacts(client, plan.files, plan.inspections);
  const position = Math.max(stored, plan.position);
  await client.query(`UPDATE search.checkpoint SET position = $1 WHERE name = 'search'`, [position]);
  return { position, applied: fresh.length };
}

function addCommon(
  where: Where,
  query: { from?: Date; to?: Date; words: readonly string[]; after?: SearchCursor },
  idColumn = 'id',
): void {
  if (query.from) where.add('recorded_at >= ?', query.from);
  if (query.to) where.add('recorded_at < ?', query.to);
  if (query.words.length > 0) where.add(`search_text @@ plainto_tsquery('simple', ?)`, query.words.join(' '));
  if (query.after) {
    where.add(
      `(global_position < ? OR (global_position = ? AND ${idColumn} COLLATE "C" > ?))`,
      query.after.position,
      query.after.position,
      query.after.id,
    );
  }
}

async function loadInspections(client: pg.ClientBase, ids: string[]): Promise<Map<string, InspectionFacts>> {
  const map = new Map<string, InspectionFacts>();
  if (ids.length === 0) return map;
  const { rows } = await client.query<{
    inspection_id: string;
    file_id: string;
    live_detections_event_id: string | null;
    verdict: AcceptanceVerdict | null;
    detection_doc_ids: string[];
  }>(
    `SELECT inspection_id, file_id, live_detections_event_id, verdict, detection_doc_ids
       FROM search.inspections WHERE inspection_id = ANY($1::text[])`,
    [ids],
  );
  for (const r of rows) {
    map.set(r.inspection_id, {
      inspectionId: r.inspection_id,
      fileId: r.file_id,
      liveDetectionsEventId: r.live_detections_event_id,
      verdict: r.verdict,
      detectionDocIds: r.detection_doc_ids,
    });
  }
  return map;
}

async function loadFiles(client: pg.ClientBase, ids: string[]): Promise<Map<string, FileFacts>> {
  const map = new Map<string, FileFacts>();
  if (ids.length === 0) return map;
  const { rows } = await client.query<{
    file_id: string;
    name: string | null;
    tags: string[];
    detection_doc_ids: string[];
  }>('SELECT file_id, name, tags, detection_doc_ids FROM search.files WHERE file_id = ANY($1::text[])', [ids]);
  for (const r of rows) {
    map.set(r.file_id, { fileId: r.file_id, name: r.name, tags: r.tags, detectionDocIds: r.detection_doc_ids });
  }
  return map;
}

async function writeDetections(client: pg.ClientBase, docs: readonly DetectionDocument[]): Promise<void> {
  if (docs.length === 0) return;
  await client.query(
    `INSERT INTO search.detections (id, event_id, global_position, inspection_id, file_id, file_name, tags, role,
            model_name, model_version, detection_id, class_name, class_id, score, box, size, recorded_at, search_text,
            review_verdict, review_new_class_name, reviewer, reviewed_at, acceptance)
     SELECT id, "eventId", "globalPosition", "inspectionId", "fileId", "fileName", tags, role, "modelName",
            "modelVersion", "detectionId", "className", "classId", score, box, size, "recordedAt",
            to_tsvector('simple', "searchText"), review->>'verdict', review->>'newClassName', review->>'reviewer',
            (review->>'reviewedAt')::timestamptz, acceptance
       FROM jsonb_to_recordset($1::jsonb) AS d(id text, "eventId" text, "globalPosition" bigint, "inspectionId" text,
            "fileId" text, "fileName" text, tags text[], role text, "modelName" text, "modelVersion" text,
            "detectionId" text, "className" text, "classId" integer, score real, box jsonb, size jsonb,
            "recordedAt" timestamptz, "searchText" text, review jsonb, acceptance text)
     ON CONFLICT (id) DO UPDATE SET file_name = EXCLUDED.file_name, tags = EXCLUDED.tags,
            search_text = EXCLUDED.search_text, file_id = EXCLUDED.file_id,
            review_verdict = EXCLUDED.review_verdict, review_new_class_name = EXCLUDED.review_new_class_name,
            reviewer = EXCLUDED.reviewer, reviewed_at = EXCLUDED.reviewed_at, acceptance = EXCLUDED.acceptance`,
    [JSON.stringify(docs)],
  );
}

async function writeAudit(client: pg.ClientBase, docs: readonly AuditDocument[]): Promise<void> {
  if (docs.length === 0) return;
  await client.query(
    `INSERT INTO search.audit (event_id, global_position, stream_id, stream_version, event_type, action, actor,
            correlation_id, recorded_at, summary, search_text)
     SELECT "eventId", "globalPosition", "streamId", "streamVersion", "eventType", action, actor, "correlationId",
            "recordedAt", summary, to_tsvector('simple', "searchText")
       FROM jsonb_to_recordset($1::jsonb) AS a("eventId" text, "globalPosition" bigint, "streamId" text,
            "streamVersion" integer, "eventType" text, action text, actor text, "correlationId" text,
            "recordedAt" timestamptz, summary text, "searchText" text)
     ON CONFLICT (event_id) DO NOTHING`,
    [JSON.stringify(docs)],
  );
}

async function writeFacts(
  client: pg.ClientBase,
  files: readonly FileFacts[],
  inspections: readonly InspectionFacts[],
): Promise<void> {
  if (files.length > 0) {
    await client.query(
      `INSERT INTO search.files (file_id, name, tags, detection_doc_ids)
       SELECT "fileId", name, tags, "detectionDocIds"
         FROM jsonb_to_recordset($1::jsonb) AS f("fileId" text, name text, tags text[], "detectionDocIds" text[])
       ON CONFLICT (file_id) DO UPDATE SET name = EXCLUDED.name, tags = EXCLUDED.tags,
              detection_doc_ids = EXCLUDED.detection_doc_ids`,
      [JSON.stringify(files)],
    );
  }
  if (inspections.length > 0) {
    await client.query(
      `INSERT INTO search.inspections (inspection_id, file_id, live_detections_event_id, verdict, detection_doc_ids)
       SELECT "inspectionId", "fileId", "liveDetectionsEventId", verdict, "detectionDocIds"
         FROM jsonb_to_recordset($1::jsonb) AS i("inspectionId" text, "fileId" text, "liveDetectionsEventId" text,
              verdict text, "detectionDocIds" text[])
       ON CONFLICT (inspection_id) DO UPDATE SET file_id = EXCLUDED.file_id,
              live_detections_event_id = EXCLUDED.live_detections_event_id, verdict = EXCLUDED.verdict,
              detection_doc_ids = EXCLUDED.detection_doc_ids`,
      [JSON.stringify(inspections)],
    );
  }
}

interface DetectionRow {
  id: string;
  event_id: string;
  global_position: string;
  inspection_id: string;
  file_id: string | null;
  file_name: string | null;
  tags: string[];
  role: 'live' | 'shadow';
  model_name: string;
  model_version: string;
  detection_id: string;
  class_name: string;
  class_id: number;
  score: number;
  box: DetectionHit['box'];
  size: DetectionHit['size'];
  recorded_at: Date;
  review_verdict: DetectionReview['verdict'] | null;
  review_new_class_name: string | null;
  reviewer: string | null;
  reviewed_at: Date | null;
  acceptance: AcceptanceVerdict | null;
}

function detectionHitOfRow(r: DetectionRow): DetectionHit {
  return {
    id: r.id,
    eventId: r.event_id,
    globalPosition: Number(r.global_position),
    inspectionId: r.inspection_id,
    fileId: r.file_id,
    fileName: r.file_name,
    tags: r.tags,
    role: r.role,
    modelName: r.model_name,
    modelVersion: r.model_version,
    detectionId: r.detection_id,
    className: r.class_name,
    classId: r.class_id,
    score: Number(r.score),
    box: r.box,
    size: r.size ?? null,
    recordedAt: r.recorded_at.toISOString(),
    review:
      r.review_verdict && r.reviewer && r.reviewed_at
        ? {
            verdict: r.review_verdict,
            newClassName: r.review_new_class_name,
            reviewer: r.reviewer,
            reviewedAt: r.reviewed_at.toISOString(),
          }
        : null,
    acceptance: r.acceptance ?? null,
  };
}

interface AuditRow {
  event_id: string;
  global_position: string;
  stream_id: string;
  stream_version: number;
  event_type: string;
  action: string;
  actor: string;
  correlation_id: string | null;
  recorded_at: Date;
  summary: string;
}

function auditHitOfRow(r: AuditRow): AuditHit {
  return {
    eventId: r.event_id,
    globalPosition: Number(r.global_position),
    streamId: r.stream_id,
    streamVersion: r.stream_version,
    eventType: r.event_type,
    action: r.action,
    actor: r.actor,
    correlationId: r.correlation_id,
    recordedAt: r.recorded_at.toISOString(),
    summary: r.summary,
  };
}
