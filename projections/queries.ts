import type pg from 'pg';
import { z } from 'zod';
import type { GlobalLog } from '../commands/ports/event-store.js';
import { readCheckpoints } from './generations.js';
import {
  agreementView,
  auditEntryView,
  dailyDefectStatsView,
  deploymentView,
  detectionView,
  fileView,
  inspectionView,
  issuedReportView,
  modelVersionView,
  modelView,
  reviewStatsView,
  reviewView,
} from './views.js';

/** What the REST API reads: the `read.*` views, parameterised SQL, keyset pagination, plain JSON out. */

export class InvalidQueryError extends Error {
  readonly code = 'invalid-query';
  constructor(readonly issues: readonly { path: string; message: string }[]) {
    super(`invalid query: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
  }
}

export interface Page<T> {
  readonly items: T[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

export const MAX_PAGE = 500;
const limit = z.coerce.number().int().min(1).max(MAX_PAGE).default(50);
const cursor = z.string().max(200).optional();
const instant = z.coerce.date().optional();
const text = z.string().min(1).max(200).optional();

function parse<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input ?? {});
  if (!result.success) {
    throw new InvalidQueryError(result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  }
  return result.data;
}

/** Cursors are opaque to clients: base64url JSON of the last row's sort key. */
const encodeCursor = (key: readonly number[]): string => Buffer.from(JSON.stringify(key)).toString('base64url');

function decodeCursor(value: string | undefined, length: number): number[] | undefined {
  if (value === undefined) return undefined;
  try {
    const key = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (Array.isArray(key) && key.length === length && key.every((k) => Number.isSafeInteger(k))) return key;
  } catch {
    // falls through to the typed error
  }
  throw new InvalidQueryError([{ path: 'cursor', message: 'not a cursor this endpoint issued' }]);
}

/** Collects WHERE conditions with numbered parameters. */
class Where {
  readonly params: unknown[] = [];
  private readonly conditions: string[] = [];

  add(condition: (p: (value: unknown) => string) => string): this {
    this.conditions.push(condition((value) => `$${this.params.push(value)}`));
    return this;
  }

  when<T>(value: T | undefined, condition: (p: string) => string): this {
    if (value !== undefined) this.add((p) => condition(p(value)));
    return this;
  }

  toString(): string {
    return this.conditions.length ? `WHERE ${this.conditions.join(' AND ')}` : '';
  }
}

type Row = Record<string, unknown>;

function page<T>(rows: Row[], size: number, map: (row: Row) => T, key: (row: Row) => number[]): Page<T> {
  const more = rows.length > size;
  const shown = more ? rows.slice(0, size) : rows;
  return { items: shown.map(map), nextCursor: more ? encodeCursor(key(shown[shown.length - 1]!)) : null };
}

const ListFilesQuery = z.object({
  tag: text,
  uploadedBy: text,
  includeDeleted: z.union([z.boolean(), z.stringbool()]).default(false),
  limit,
  cursor,
});
const ListInspectionsQuery = z.object({
  status: z.enum(['requested', 'running', 'retrying', 'detected', 'failed', 'closed']).optional(),
  verdict: z.enum(['accept', 'reject', 'indeterminate', 'none']).optional(),
  modelName: text,
  modelVersion: text,
  fileId: text,
  from: instant,
  to: instant,
  limit,
  cursor,
});
const ListDetectionsQuery = z.object({
  className: text,
  minScore: z.coerce.number().min(0).max(1).optional(),
  maxScore: z.coerce.number().min(0).max(1).optional(),
  modelName: text,
  modelVersion: text,
  role: z.enum(['live', 'shadow']).default('live'),
  verdict: z.enum(['confirmed', 'rejected', 'relabelled', 'unreviewed']).optional(),
  from: instant,
  to: instant,
  limit,
  cursor,
});
const DailyStatsQuery = z.object({
  from: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .optional(),
  to: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .optional(),
  className: text,
});
const AuditQuery = z.object({
  actor: text,
  streamId: text,
  type: text,
  correlationId: text,
  from: instant,
  to: instant,
  order: z.enum(['asc', 'desc']).default('desc'),
  limit,
  cursor,
});
const Id = z.string().min(1).max(200);

export type ListFilesInput = z.input<typeof ListFilesQuery>;
export type ListInspectionsInput = z.input<typeof ListInspectionsQuery>;
export type ListDetectionsInput = z.input<typeof ListDetectionsQuery>;
export type DailyStatsInput = z.input<typeof DailyStatsQuery>;
export type AuditTrailInput = z.input<typeof AuditQuery>;

export class ReadModelQueries {
  constructor(
    private readonly db: pg.Pool,
    /** Only `projectionStatus` needs it, for the head of the log. */
    private readonly log?: Pick<GlobalLog, 'headPosition'>,
  ) {}

  async listFiles(input?: ListFilesInput) {
    const q = parse(ListFilesQuery, input);
    const after = decodeCursor(q.cursor, 1);
    const where = new Where()
      .when(q.tag, (p) => `tags @> jsonb_build_array(${p}::text)`)
      .when(q.uploadedBy, (p) => `uploaded_by = ${p}`)
      .when(after?.[0], (p) => `uploaded_position < ${p}`);
    if (!q.includeDeleted) where.add(() => 'NOT deleted');
    const { rows } = await this.db.query(
      `SELECT * FROM read.files ${where} ORDER BY uploaded_position DESC LIMIT ${q.limit + 1}`,
      where.params,
    );
    return page(rows, q.limit, fileView.fromDb, (r) => [Number(r.uploaded_position)]);
  }

  async getFile(fileId: string) {
    const { rows } = await this.db.query('SELECT * FROM read.files WHERE file_id = $1', [parse(Id, fileId)]);
    return rows[0] ? fileView.fromDb(rows[0]) : null;
  }

  async listInspections(input?: ListInspectionsInput) {
    const q = parse(ListInspectionsQuery, input);
    const after = decodeCursor(q.cursor, 1);
    const where = new Where()
      .when(q.status, (p) => `status = ${p}`)
      .when(q.verdict === 'none' ? undefined : q.verdict, (p) => `verdict = ${p}`)
      .when(q.modelName, (p) => `model_name = ${p}`)
      .when(q.modelVersion, (p) => `model_version = ${p}`)
      .when(q.fileId, (p) => `file_id = ${p}`)
      .when(q.from, (p) => `requested_at >= ${p}`)
      .when(q.to, (p) => `requested_at < ${p}`)
      .when(after?.[0], (p) => `requested_position < ${p}`);
    if (q.verdict === 'none') where.add(() => 'verdict IS NULL');
    const { rows } = await this.db.query(
      `SELECT * FROM read.inspections ${where} ORDER BY requested_position DESC LIMIT ${q.limit + 1}`,
      where.params,
    );
    return page(rows, q.limit, inspectionView.fromDb, (r) => [Number(r.requested_position)]);
  }

  /** The issuances of the report with these exact bytes, oldest first (the same file may go to several people). */
  async findIssuedReports(reportSha256: string) {
    const { rows } = await this.db.query(
      'SELECT * FROM read.issued_reports WHERE report_sha256 = $1 ORDER BY position',
      [parse(z.string().regex(/^[a-f0-9]{64}$/), reportSha256)],
    );
    return rows.map(issuedReportView.fromDb);
  }

  /**
   * The inspection with every box (live and shadow) and every review, or null. One statement, so
   * the parts come from one snapshot without a transaction around three reads.
   */
  async getInspection(inspectionId: string) {
    const { rows } = await this.db.query(
      `SELECT i.*,
              COALESCE((SELECT json_agg(d ORDER BY d.role, d.recorded_position, d.ordinal)
                          FROM read.detections d WHERE d.inspection_id = i.inspection_id), '[]') AS detection_rows,
              COALESCE((SELECT json_agg(r ORDER BY r.position)
                          FROM read.reviews r WHERE r.inspection_id = i.inspection_id), '[]') AS review_rows
         FROM read.inspections i WHERE i.inspection_id = $1`,
      [parse(Id, inspectionId)],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      ...inspectionView.fromDb(row),
      detections: (row.detection_rows as Row[]).map(detectionView.fromDb),
      reviews: (row.review_rows as Row[]).map(reviewView.fromDb),
    };
  }

  async listDetections(input?: ListDetectionsInput) {
    const q = parse(ListDetectionsQuery, input);
    const after = decodeCursor(q.cursor, 2);
    const where = new Where()
      .when(q.role, (p) => `role = ${p}`)
      .when(q.className, (p) => `class_name = ${p}`)
      .when(q.minScore, (p) => `score >= ${p}`)
      .when(q.maxScore, (p) => `score <= ${p}`)
      .when(q.modelName, (p) => `model_name = ${p}`)
      .when(q.modelVersion, (p) => `model_version = ${p}`)
      .when(q.from, (p) => `recorded_at >= ${p}`)
      .when(q.to, (p) => `recorded_at < ${p}`);
    if (q.verdict === 'unreviewed') where.add(() => 'verdict IS NULL');
    else where.when(q.verdict, (p) => `verdict = ${p}`);
    if (after) {
      where.add(
        (p) =>
          `(recorded_position < ${p(after[0])} OR (recorded_position = ${p(after[0])} AND ordinal > ${p(after[1])}))`,
      );
    }
    const { rows } = await this.db.query(
      `SELECT * FROM read.detections ${where} ORDER BY recorded_position DESC, ordinal ASC LIMIT ${q.limit + 1}`,
      where.params,
    );
    return page(rows, q.limit, detectionView.fromDb, (r) => [Number(r.recorded_position), Number(r.ordinal)]);
  }

  async listModels() {
    const { rows: models } = await this.db.query('SELECT * FROM read.models ORDER BY name');
    const { rows: versions } = await this.db.query(
      'SELECT * FROM read.model_versions ORDER BY name, registered_position',
    );
    return models.map((m) => ({
      ...modelView.fromDb(m),
      versions: versions.filter((v) => v.name === m.name).map(modelVersionView.fromDb),
    }));
  }

  /** A model with its versions, its deployment history and how each shadow version agreed with live. */
  async getModel(name: string) {
    const id = parse(Id, name);
    const { rows } = await this.db.query('SELECT * FROM read.models WHERE name = $1', [id]);
    const model = rows[0];
    if (!model) return null;
    const [versions, deployments, agreement] = await Promise.all([
      this.db.query('SELECT * FROM read.model_versions WHERE name = $1 ORDER BY registered_position', [id]),
      this.db.query('SELECT * FROM read.deployments WHERE name = $1 ORDER BY position', [id]),
      this.db.query('SELECT * FROM read.shadow_agreement WHERE shadow_name = $1 ORDER BY shadow_version', [id]),
    ]);
    return {
      ...modelView.fromDb(model),
      versions: versions.rows.map(modelVersionView.fromDb),
      deployments: deployments.rows.map(deploymentView.fromDb),
      shadowAgreement: agreement.rows.map(agreementView.fromDb),
    };
  }

  async reviewStats() {
    const { rows } = await this.db.query('SELECT * FROM read.review_stats ORDER BY class_name');
    return rows.map(reviewStatsView.fromDb);
  }

  async dailyDefectStats(input?: DailyStatsInput) {
    const q = parse(DailyStatsQuery, input);
    const where = new Where()
      .when(q.from, (p) => `day >= ${p}::date`)
      .when(q.to, (p) => `day <= ${p}::date`)
      .when(q.className, (p) => `class_name = ${p}`);
    const { rows } = await this.db.query(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, class_name, detections, inspections, score_sum_micro
         FROM read.daily_defect_stats ${where} ORDER BY day, class_name`,
      where.params,
    );
    return rows.map(dailyDefectStatsView.fromDb);
  }

  async auditTrail(input?: AuditTrailInput) {
    const q = parse(AuditQuery, input);
    const after = decodeCursor(q.cursor, 1);
    const where = new Where()
      .when(q.actor, (p) => `actor = ${p}`)
      .when(q.streamId, (p) => `stream_id = ${p}`)
      .when(q.type, (p) => `type = ${p}`)
      .when(q.correlationId, (p) => `correlation_id = ${p}`)
      .when(q.from, (p) => `recorded_at >= ${p}`)
      .when(q.to, (p) => `recorded_at < ${p}`)
      .when(after?.[0], (p) => `position ${q.order === 'asc' ? '>' : '<'} ${p}`);
    const { rows } = await this.db.query(
      `SELECT * FROM read.audit_trail ${where} ORDER BY position ${q.order === 'asc' ? 'ASC' : 'DESC'} LIMIT ${q.limit + 1}`,
      where.params,
    );
    return page(rows, q.limit, auditEntryView.fromDb, (r) => [Number(r.position)]);
  }

  /** Checkpoint, live generation and lag (head − checkpoint) of every projection. */
  async projectionStatus() {
    const [checkpoints, head] = await Promise.all([
      readCheckpoints(this.db).catch((error: { code?: string }) => {
        if (error.code === '42P01') return []; // no projector has run yet
        throw error;
      }),
      this.log ? this.log.headPosition() : Promise.resolve(null),
    ]);
    return checkpoints.map((c) => ({
      name: c.name,
      version: c.version,
      generation: c.generation,
      checkpoint: c.position,
      head,
      lag: head === null ? null : Math.max(0, head - c.position),
    }));
  }
}
