import { z } from 'zod';

/** Bad search input: a typed error the API maps to 400; nothing is queried. */
export class InvalidSearchQueryError extends Error {
  readonly code = 'invalid-search-query';
  constructor(readonly issues: readonly { path: string; message: string }[]) {
    super(`invalid search query: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
  }
}

export const MAX_PAGE_SIZE = 500;
const MAX_TEXT_WORDS = 16;

/**
 * The words a text is searched by, the same for documents and queries in both adapters: lower-case
 * runs of letters and digits. Splitting here, not in the engine, makes `weld_seam-01.png` match
 * `seam` in Elasticsearch's standard analyzer and in Postgres' `simple` configuration alike.
 */
export function searchWords(text: string): string[] {
  const words = text.toLowerCase().split(/[^\p{L}\p{N}]+/u);
  return [...new Set(words.filter((w) => w.length > 0))];
}

/** Hit ids are event ids and document ids, visible ASCII: anything else (NUL above all) is a forged cursor. */
const cursorShape = z.tuple([
  z.number().int().min(0),
  z
    .string()
    .min(1)
    .max(300)
    .regex(/^[\x21-\x7e]+$/),
]);

/** Keyset position after the last hit of a page: (global position, id), newest first. */
export interface SearchCursor {
  readonly position: number;
  readonly id: string;
}

export function encodeCursor(cursor: SearchCursor): string {
  return Buffer.from(JSON.stringify([cursor.position, cursor.id])).toString('base64url');
}

function decodeCursor(raw: string): SearchCursor | null {
  try {
    const [position, id] = cursorShape.parse(JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')));
    return { position, id };
  } catch {
    return null;
  }
}

const common = {
  from: z.coerce.date().optional(),
  to: z.coerce.date().optional(),
  text: z.string().max(500).optional(),
  limit: z.number().int().min(1).max(MAX_PAGE_SIZE).default(50),
  cursor: z.string().max(1000).optional(),
};

export const REVIEW_VERDICT_FILTERS = ['unreviewed', 'confirmed', 'rejected', 'relabelled'] as const;
export type ReviewVerdictFilter = (typeof REVIEW_VERDICT_FILTERS)[number];
export const ACCEPTANCE_FILTERS = ['accept', 'reject', 'indeterminate'] as const;

const DetectionQuerySchema = z
  .object({
    className: z.string().min(1).max(100).optional(),
    minScore: z.number().min(0).max(1).optional(),
    maxScore: z.number().min(0).max(1).optional(),
    /** Model name; `modelVersion` narrows to one version. */
    model: z.string().min(1).max(64).optional(),
    modelVersion: z.string().min(1).max(32).optional(),
    /** The latest review's verdict, or `unreviewed` for live detections nobody has reviewed (shadow boxes are never reviewed). */
    verdict: z.enum(REVIEW_VERDICT_FILTERS).optional(),
    /** Boxes at least this long in mm (the longer side); boxes of files without a pixel spacing never match. */
    minLengthMm: z.number().min(0).max(100_000).optional(),
    /** The inspection's latest acceptance verdict (InspectionEvaluated). */
    acceptance: z.enum(ACCEPTANCE_FILTERS).optional(),
    ...common,
  })
  .strict();

const AuditQuerySchema = z
  .object({
    actor: z.string().min(1).max(200).optional(),
    eventType: z.string().min(1).max(100).optional(),
    action: z.string().min(1).max(100).optional(),
    ...common,
  })
  .strict();

export type DetectionQueryInput = z.input<typeof DetectionQuerySchema>;
export type AuditQueryInput = z.input<typeof AuditQuerySchema>;

interface CommonQuery {
  readonly from?: Date;
  readonly to?: Date;
  /** Every word must match (AND); empty when no text was given. */
  readonly words: readonly string[];
  readonly limit: number;
  readonly after?: SearchCursor;
}

export interface DetectionQuery extends CommonQuery {
  readonly className?: string;
  readonly minScore?: number;
  readonly maxScore?: number;
  readonly model?: string;
  readonly modelVersion?: string;
  readonly verdict?: ReviewVerdictFilter;
  readonly minLengthMm?: number;
  readonly acceptance?: (typeof ACCEPTANCE_FILTERS)[number];
}

export interface AuditQuery extends CommonQuery {
  readonly actor?: string;
  readonly eventType?: string;
  readonly action?: string;
}

function parseWith<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new InvalidSearchQueryError(result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  }
  return result.data;
}

function commonPart(parsed: z.output<typeof DetectionQuerySchema> | z.output<typeof AuditQuerySchema>): CommonQuery {
  if (parsed.from && parsed.to && parsed.from.getTime() > parsed.to.getTime()) {
    throw new InvalidSearchQueryError([{ path: 'from', message: 'from is after to' }]);
  }
  const issues: { path: string; message: string }[] = [];
  const words = parsed.text === undefined ? [] : searchWords(parsed.text);
  if (words.length > MAX_TEXT_WORDS) issues.push({ path: 'text', message: `at most ${MAX_TEXT_WORDS} words` });
  let after: SearchCursor | undefined;
  if (parsed.cursor !== undefined) {
    after = decodeCursor(parsed.cursor) ?? undefined;
    if (!after) issues.push({ path: 'cursor', message: 'not a cursor returned by this search' });
  }
  if (issues.length > 0) throw new InvalidSearchQueryError(issues);
  return { from: parsed.from, to: parsed.to, words, limit: parsed.limit, after };
}

export function parseDetectionQuery(input: DetectionQueryInput): DetectionQuery {
  const parsed = parseWith(DetectionQuerySchema, input);
  if (parsed.minScore !== undefined && parsed.maxScore !== undefined && parsed.minScore > parsed.maxScore) {
    throw new InvalidSearchQueryError([{ path: 'minScore', message: 'minScore is above maxScore' }]);
  }
  return {
    ...commonPart(parsed),
    className: parsed.className,
    minScore: parsed.minScore,
    maxScore: parsed.maxScore,
    model: parsed.model,
    modelVersion: parsed.modelVersion,
    verdict: parsed.verdict,
    minLengthMm: parsed.minLengthMm,
    acceptance: parsed.acceptance,
  };
}

export function parseAuditQuery(input: AuditQueryInput): AuditQuery {
  const parsed = parseWith(AuditQuerySchema, input);
  return { ...commonPart(parsed), actor: parsed.actor, eventType: parsed.eventType, action: parsed.action };
}

/** The page's next cursor: present only when the page is full (there may be more). */
export function nextCursorOf(hits: readonly { globalPosition: number; id: string }[], limit: number): string | null {
  const last = hits[hits.length - 1];
  return hits.length === limit && last ? encodeCursor({ position: last.globalPosition, id: last.id }) : null;
}
