import { z } from 'zod';
import type { AuditHit, DetectionHit, Freshness } from '../projections/search/ports.js';
import {
  agreementView,
  auditEntryView,
  dailyDefectStatsView,
  deploymentView,
  detectionView,
  fileView,
  inspectionView,
  modelVersionView,
  modelView,
  reviewStatsView,
  reviewView,
} from '../projections/views.js';
import {
  AcceptanceRule,
  AcceptanceRules,
  Actor,
  DicomHeader,
  Id,
  InspectionEvaluated,
  ModelName,
  ModelVersion,
  PixelSpacingMm,
  Role,
  Tag,
  ThresholdsOverride,
  TrafficWeights,
} from '../schemas/events/index.js';
import { ACCEPTANCE_FILTERS, REVIEW_VERDICT_FILTERS } from '../schemas/search-query.js';

/** Request and response shapes of the REST API; validation and `/openapi.json` both come from these. */

export const Limit = z.coerce.number().int().min(1).max(500).default(50).describe('Page size (1-500)');
export const Cursor = z.string().max(500).optional().describe('Opaque cursor from the previous page’s nextCursor');
/**
 * Years 1-9999 (UTC), where ISO-8601 without an era, JavaScript, PostgreSQL and Elasticsearch all
 * agree: PostgreSQL has no year 0, and a time zone offset can push 0001-01-01 into it.
 */
const EARLIEST = Date.parse('0001-01-01T00:00:00Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');
const OUT_OF_RANGE = 'must lie between 0001-01-01 and 9999-12-31 (UTC)';
const storableTime = (ms: number): boolean => ms >= EARLIEST && ms <= LATEST;
const IsoTime = z.iso.datetime({ offset: true }).refine((v) => storableTime(Date.parse(v)), OUT_OF_RANGE);
const IsoDate = z.iso.date().refine((v) => storableTime(Date.parse(`${v}T00:00:00Z`)), OUT_OF_RANGE);

/** `?asOf=` is a global position (digits) or an ISO-8601 time. */
export const AsOf = z
  .string()
  .regex(/^(\d{1,15}|\d{4}-\d{2}-\d{2}T.+)$/, 'a global position or an ISO-8601 time')
  .transform((value, ctx): { toGlobalPosition: number } | { asOf: Date } => {
    if (/^\d+$/.test(value)) return { toGlobalPosition: Number(value) };
    const at = new Date(value);
    if (Number.isNaN(at.getTime())) {
      ctx.addIssue({ code: 'custom', message: 'not a valid time' });
      return z.NEVER;
    }
    if (!storableTime(at.getTime())) {
      ctx.addIssue({ code: 'custom', message: OUT_OF_RANGE });
      return z.NEVER;
    }
    return { asOf: at };
  })
  .optional()
  .describe('Time travel: the aggregate as it was at this global position or ISO-8601 time (auditors)');
export type AsOf = z.output<typeof AsOf>;

const csvList = (item: z.ZodString) =>
  z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(item).max(50));

// --- auth ---
export const TokenRequest = z.object({ apiKey: z.string().min(1).max(200) });
export const RefreshRequest = z.object({ refreshToken: z.string().min(1).max(4096) });
export const SessionEnded = z.object({ sessionEnded: z.literal(true) });
export const TokenPair = z.object({
  tokenType: z.literal('Bearer'),
  accessToken: z.string(),
  expiresIn: z.number().int().describe('seconds'),
  refreshToken: z.string(),
  refreshExpiresIn: z.number().int().describe('seconds'),
});

// --- shared responses ---
export const CommandAccepted = z.object({
  streamId: z.string(),
  streamVersion: z.number().int(),
  globalPosition: z.number().int().nullable().describe('Null when the command was already satisfied'),
  duplicate: z.boolean().describe('True when an earlier request with the same Idempotency-Key did the work'),
});
export const ReadModelObject = z.record(z.string(), z.unknown()).describe('Read-model row');
export const PageOf = (item: z.ZodType) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });
export const AsOfState = z.object({
  streamId: z.string(),
  streamVersion: z.number().int(),
  globalPosition: z.number().int(),
  state: z.unknown(),
});

// --- files ---
export const FileParams = z.object({ fileId: Id });
/** `?pixelSpacingMm=0.1` (square pixels) or `0.1,0.12` (row spacing, column spacing: DICOM's order). */
const PixelSpacingParam = z
  .string()
  .regex(/^\s*\d+(\.\d+)?\s*(,\s*\d+(\.\d+)?\s*)?$/, 'one spacing in mm, or two: row,column')
  .transform((v) => {
    const [row, column = row] = v.split(',').map(Number) as [number, number?];
    return { row, column };
  })
  .pipe(PixelSpacingMm);
export const UploadQuery = z.object({
  name: z.string().max(1024).optional().describe('Original file name (or send X-File-Name)'),
  tags: csvList(Tag).optional().describe('Comma-separated tags'),
  pixelSpacingMm: PixelSpacingParam.optional().describe(
    'Pixel spacing in mm (0.001–10): `0.1`, or `row,column` such as `0.1,0.12`. For images without one in their header; a DICOM file’s own spacing must agree',
  ),
});
export const UploadedFile = z.object({
  fileId: z.string(),
  sha256: z.string(),
  sizeBytes: z.number().int(),
  mediaType: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  bitDepth: z.number().int(),
  channels: z.number().int(),
  originalName: z.string(),
  tags: z.array(z.string()),
  pixelSpacingMm: PixelSpacingMm.optional().describe('Absent when unknown'),
  dicom: DicomHeader.optional().describe('Allow-listed DICOM header (DICOM uploads only)'),
  existing: z
    .boolean()
    .optional()
    .describe('True when this DICOM instance (same SOP Instance UID, same bytes) was uploaded before: its file'),
  streamVersion: z.number().int(),
});
export const ListFilesQuery = z.object({
  limit: Limit,
  cursor: Cursor,
  tag: Tag.optional(),
  uploadedBy: Actor.optional(),
  includeDeleted: z.stringbool().default(false),
});
export const GetQuery = z.object({ asOf: AsOf });
export const TagFileBody = z
  .object({ add: z.array(Tag).max(50).default([]), remove: z.array(Tag).max(50).default([]) })
  .refine((b) => b.add.length + b.remove.length > 0, { message: 'add or remove at least one tag' });
export const DeleteFileQuery = z.object({
  reason: z.string().min(1).max(500).describe('Why the file is erased (kept in history)'),
});

// --- inspections ---
export const InspectionParams = z.object({ inspectionId: Id });
export const ReviewParams = z.object({ inspectionId: Id, detectionId: z.string().regex(/^d\d+$/) });
export const RequestInspectionBody = z.object({
  fileId: Id,
  model: z
    .object({ name: ModelName, version: ModelVersion.optional().describe('Pin a version; default: the traffic split') })
    .optional()
    .describe('Default: the default model, version by its traffic split'),
  thresholds: ThresholdsOverride.optional().describe(
    'Overrides of the chosen version’s deployed thresholds; classConfidence replaces its whole per-class map and may name only classes of the chosen version',
  ),
});
export const ListInspectionsQuery = z.object({
  limit: Limit,
  cursor: Cursor,
  fileId: Id.optional(),
  status: z.enum(['requested', 'running', 'retrying', 'detected', 'failed', 'closed']).optional(),
  verdict: z
    .enum(['accept', 'reject', 'indeterminate', 'none'])
    .optional()
    .describe('The latest recorded verdict; none = never evaluated'),
  modelName: ModelName.optional(),
  modelVersion: ModelVersion.optional(),
  from: IsoTime.optional(),
  to: IsoTime.optional(),
});
export const ReviewBody = z
  .object({
    verdict: z.enum(['confirmed', 'rejected', 'relabelled']),
    newClassName: z.string().min(1).max(100).nullable().default(null),
    comment: z.string().max(2000).nullable().default(null),
  })
  .refine((b) => (b.verdict === 'relabelled') === (b.newClassName !== null), {
    message: 'newClassName is required for relabelled and only then',
    path: ['newClassName'],
  });
export const CloseBody = z.object({
  profileId: Id.optional().describe('Judge the inspection against this acceptance profile as it closes'),
  revision: z.number().int().min(1).optional().describe('Profile revision (latest when absent)'),
  outcome: z.enum(['accepted', 'rejected', 'inconclusive']),
  note: z.string().max(2000).nullable().default(null),
});

// --- detections ---
export const DetectionSearchQuery = z
  .object({
    className: z.string().max(100).optional(),
    minScore: z.coerce.number().min(0).max(1).optional(),
    maxScore: z.coerce.number().min(0).max(1).optional(),
    model: ModelName.optional(),
    modelVersion: ModelVersion.optional(),
    verdict: z
      .enum(REVIEW_VERDICT_FILTERS)
      .optional()
      .describe("The latest review's verdict, or unreviewed for live detections nobody has reviewed"),
    minLengthMm: z.coerce
      .number()
      .min(0)
      .max(100_000)
      .optional()
      .describe('Only boxes at least this long in mm (longer side); files without a pixel spacing never match'),
    acceptance: z
      .enum(ACCEPTANCE_FILTERS)
      .optional()
      .describe('The inspection’s latest acceptance verdict (evaluated against an acceptance profile)'),
    from: IsoTime.optional(),
    to: IsoTime.optional(),
    q: z.string().max(200).optional().describe('Free text over file names and tags'),
    limit: Limit,
    cursor: Cursor,
  })
  .refine((q) => q.minScore === undefined || q.maxScore === undefined || q.minScore <= q.maxScore, {
    message: 'minScore must not exceed maxScore',
    path: ['minScore'],
  });

// --- models ---
export const ModelParams = z.object({ name: ModelName });
export const ModelVersionParams = z.object({ name: ModelName, version: ModelVersion });
export const RegisterModelQuery = z.object({
  version: ModelVersion,
  description: z.string().max(2000).optional().describe('Default: the ONNX metadata description'),
  confidence: z.coerce
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe('Confidence threshold of this version’s deployments that name none; default 0.25'),
  iou: z.coerce
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe('NMS IoU of this version’s deployments that name none; default 0.7 (lower for thin, elongated objects)'),
  maxDetections: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .optional()
    .describe('Detections kept per image by this version’s deployments that name none; default 300'),
  tileOverlapPx: z.coerce
    .number()
    .int()
    .min(0)
    .max(4096)
    .optional()
    .describe(
      'Tiled inspection of large images: overlap of neighbouring tiles in model-input pixels (less than half the input); default a fifth of the input when any tiling parameter is given. No tiling parameter: every image is letterboxed whole',
    ),
  tileMmPerInputPixel: z.coerce
    .number()
    .positive()
    .max(100)
    .optional()
    .describe(
      'Tiling resolution: mm per model-input pixel for images whose pixel spacing is known; default native resolution',
    ),
  letterboxMaxShrink: z.coerce
    .number()
    .min(1)
    .max(1000)
    .optional()
    .describe(
      'Images letterboxing would shrink at most this much (relative to the tiling scale) go to the model whole; larger ones are tiled. Default 1',
    ),
});
// A model card's figures per class and per held-out split run to about a hundred (2.0.0 ships 88).
export const ModelMetrics = z.record(z.string().max(100), z.number()).refine((m) => Object.keys(m).length <= 200, {
  message: 'at most 200 metrics',
});
export const RegisteredModel = z.object({
  name: z.string(),
  version: z.string(),
  sha256: z.string(),
  sizeBytes: z.number().int(),
  outputLayout: z.string(),
  classes: z.array(z.string()),
  inputSize: z.object({ width: z.number().int(), height: z.number().int() }),
  streamVersion: z.number().int(),
});
export const DeployBody = z.object({
  version: ModelVersion,
  percent: z
    .number()
    .gt(0)
    .max(100)
    .default(100)
    .describe('Share of traffic for this version; the other live versions keep their proportions of the rest'),
  canary: z.boolean().optional().describe('Default: percent < 100'),
  thresholds: ThresholdsOverride.optional().describe(
    'Default: the version’s last deployment, else the thresholds it was registered with, else global defaults. Each field given replaces that one; classConfidence (class name -> confidence, classes of this version only) replaces the whole per-class map ({} clears it), and a class without an entry uses confidence',
  ),
});
export const ShiftBody = z.object({
  weights: TrafficWeights.describe('The whole new split: version -> percent, summing to exactly 100'),
  reason: z.string().max(500).optional(),
});
export const RollbackBody = z.object({ toVersion: ModelVersion, reason: z.string().min(1).max(500) });
export const RetireBody = z.object({ reason: z.string().max(500).optional() });
export const ShadowBody = z.object({ version: ModelVersion });

// --- users ---
export const UserParams = z.object({ userId: Id });
export const UserRoleParams = z.object({ userId: Id, role: Role });
export const UserKeyParams = z.object({ userId: Id, keyId: Id });
export const RegisterUserBody = z.object({
  userId: Id.optional().describe('Default: generated'),
  email: z.email().max(254),
  displayName: z.string().min(1).max(200),
  roles: z.array(Role).max(6).default([]),
});
export const GrantRoleBody = z.object({ role: Role });
export const IssueApiKeyBody = z.object({
  label: z.string().max(200).default(''),
  expiresAt: IsoTime.nullable().default(null),
});
export const IssuedApiKey = z.object({
  keyId: z.string(),
  apiKey: z.string().describe('Shown once; only its hash is recorded'),
  expiresAt: z.string().nullable(),
  streamVersion: z.number().int(),
});

// --- audit ---
export const AuditTrailQuery = z.object({
  limit: Limit,
  cursor: Cursor,
  streamId: z.string().max(200).optional(),
  actor: Actor.optional(),
  type: z.string().max(100).optional(),
  correlationId: z.string().max(200).optional(),
  from: IsoTime.optional(),
  to: IsoTime.optional(),
  order: z.enum(['asc', 'desc']).default('desc'),
});
export const AuditSearchQuery = z.object({
  actor: Actor.optional(),
  eventType: z.string().max(100).optional(),
  action: z.string().max(100).optional(),
  q: z.string().max(200).optional(),
  from: IsoTime.optional(),
  to: IsoTime.optional(),
  limit: Limit,
  cursor: Cursor,
});
export const ExportQuery = z
  .object({
    after: z.coerce.number().int().min(0).default(0).describe('Export events after this global position'),
    to: z.coerce.number().int().min(1).optional().describe('…up to and including this position'),
    raw: z
      .stringbool()
      .default(false)
      .describe('Every event exactly as stored, secret hashes included (needs audit:export-raw)'),
  })
  .refine((q) => q.to === undefined || q.to > q.after, { message: 'to must exceed after', path: ['to'] });
export const StreamParams = z.object({
  streamId: z
    .string()
    .min(3)
    .max(200)
    .regex(/^(file|inspection|model|user|access)-[A-Za-z0-9_.:-]+$/, 'a stream id such as inspection-<id>')
    // Refused here, before the replay is recorded: a 400 writes nothing.
    .refine((id) => !id.startsWith('access-'), 'access streams have no aggregate state; export them'),
});
export const ReplayQuery = z.object({ asOf: AsOf });
export const VerifyResult = z.object({
  ok: z.boolean(),
  eventsChecked: z.number().int(),
  sealsChecked: z.number().int(),
  sealedUpTo: z.number().int(),
  anchoredSealsChecked: z.number().int(),
  sealKeys: z.array(z.string()),
  oldestUnsealedAt: z.string().optional(),
  writerMacs: z.enum(['verified', 'presence-only']),
  writerMacsChecked: z.number().int(),
  problemCount: z.number().int(),
  firstProblem: z
    .object({
      kind: z.enum([
        'altered',
        'inserted',
        'deleted',
        'reordered',
        'time-reversed',
        'seal-mismatch',
        'seal-unverifiable',
        'truncated',
        'unsealed',
        'unauthenticated',
      ]),
      globalPosition: z.number().int().optional(),
      streamId: z.string().optional(),
      streamVersion: z.number().int().optional(),
      eventId: z.string().optional(),
      sealNumber: z.number().int().optional(),
      detail: z.string(),
    })
    .optional(),
});
export const SealKeyList = z.object({
  items: z.array(
    z.object({
      keyId: z.string(),
      algorithm: z.literal('Ed25519'),
      publicKeyPem: z.string(),
      activatedAt: z.string(),
      globalPosition: z.number().int(),
    }),
  ),
});

// --- stats ---
export const DailyDefectsQuery = z.object({
  from: IsoDate.optional(),
  to: IsoDate.optional(),
  className: z.string().max(100).optional(),
});

// --- events ---
export const EventStreamQuery = z.object({
  after: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Start after this global position (else Last-Event-ID, else now)'),
  types: csvList(z.string().max(100)).optional().describe('Only these event types'),
  category: z.enum(['file', 'inspection', 'model', 'user', 'access']).optional(),
});
export const LastEventId = z.string().regex(/^\d{1,15}$/, 'a global position');

// Acceptance profiles and verdicts
export const ProfileParams = z.object({ profileId: Id });
export const CreateProfileBody = z.object({
  profileId: Id,
  name: z.string().min(1).max(100),
  description: z.string().max(2000).optional(),
  sample: z.boolean().optional(),
  rules: AcceptanceRules,
});
export const ReviseProfileBody = z.object({ rules: AcceptanceRules, note: z.string().max(2000).optional() });
export const RetireProfileBody = z.object({ reason: z.string().min(1).max(500) });
export const EvaluateBody = z.object({ profileId: Id, revision: z.number().int().min(1).optional() });
export const AcceptanceProfile = z.object({
  profileId: Id,
  name: z.string(),
  description: z.string(),
  sample: z.boolean(),
  status: z.enum(['active', 'retired']),
  retirement: z.object({ reason: z.string(), retiredBy: z.string() }).nullable(),
  revisions: z.array(z.object({ revision: z.number().int(), rules: z.array(AcceptanceRule) })),
  streamVersion: z.number().int(),
});
export const Verdict = InspectionEvaluated.schema.extend({
  streamVersion: z.number().int(),
  globalPosition: z.number().int(),
  recordedAt: z.string(),
});
export const Verdicts = z.object({ items: z.array(Verdict) });
export const ReportQuery = z.object({
  format: z.enum(['pdf', 'html', 'csv', 'json']).optional().describe('Overrides the Accept header'),
  asOf: AsOf,
  shadow: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => v === 'true')
    .describe('Also draw and list the shadow models’ detections'),
});
export const ImageQuery = z.object({
  annotated: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => v !== 'false'),
  shadow: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => v === 'true'),
  asOf: AsOf,
});
export const ReportVerification = z.object({
  issued: z.boolean(),
  reportSha256: z.string(),
  issuances: z.array(
    z.object({
      inspectionId: z.string(),
      format: z.string(),
      asOf: z.string().nullable(),
      issuedBy: z.string(),
      issuedAt: z.string().nullable(),
      covers: z.object({ streamVersion: z.number(), globalPosition: z.number(), eventHash: z.string() }),
    }),
  ),
  history: z
    .object({
      ok: z.boolean(),
      coveredEventStillRecorded: z.boolean(),
      auditOk: z.boolean(),
      detail: z.string(),
    })
    .nullable(),
});

// Read-model rows: the schemas come from the same view declarations that map the rows
// (projections/views.ts), so the document cannot drift from what the API sends.
export const FileRow = fileView.schema;
export const InspectionRow = inspectionView.schema;
export const DetectionRow = detectionView.schema;
export const ReviewRow = reviewView.schema;
export const InspectionDetail = InspectionRow.extend({
  detections: z.array(DetectionRow),
  reviews: z.array(ReviewRow),
});
export const ModelRow = modelView.schema.extend({ versions: z.array(modelVersionView.schema) });
export const ModelDetail = ModelRow.extend({
  deployments: z.array(deploymentView.schema),
  shadowAgreement: z.array(agreementView.schema),
});
export const AuditEntry = auditEntryView.schema;
export const ReviewStatsRows = z.object({ items: z.array(reviewStatsView.schema) });
export const DailyDefectRows = z.object({ items: z.array(dailyDefectStatsView.schema) });
export const ProjectionStatusRows = z.object({
  items: z.array(
    z.object({
      name: z.string(),
      version: z.number().int(),
      generation: z.number().int(),
      checkpoint: z.number().int().describe('Global position the read model has applied'),
      head: z.number().int().nullable().describe('Highest global position in the log'),
      lag: z.number().int().nullable(),
    }),
  ),
});
export const ModelRows = z.object({ items: z.array(ModelRow) });
export const SearchFreshness = z.object({
  indexedPosition: z.number().int(),
  headPosition: z.number().int(),
  lag: z.number().int(),
  stale: z.boolean(),
}) satisfies z.ZodType<Freshness>;
export const SearchPageOf = (item: z.ZodType) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable(), freshness: SearchFreshness });
export const DetectionHitSchema = z.object({
  id: z.string(),
  eventId: z.string(),
  globalPosition: z.number().int(),
  inspectionId: z.string(),
  fileId: z.string().nullable(),
  fileName: z.string().nullable(),
  tags: z.array(z.string()),
  role: z.enum(['live', 'shadow']),
  modelName: z.string(),
  modelVersion: z.string(),
  detectionId: z.string(),
  className: z.string(),
  classId: z.number().int(),
  score: z.number(),
  box: z.object({ x1: z.number(), y1: z.number(), x2: z.number(), y2: z.number() }),
  size: z.object({ lengthMm: z.number(), widthMm: z.number(), areaMm2: z.number() }).nullable(),
  recordedAt: z.string(),
  review: z
    .object({
      verdict: z.enum(['confirmed', 'rejected', 'relabelled']),
      newClassName: z.string().nullable(),
      reviewer: z.string(),
      reviewedAt: z.string(),
    })
    .nullable(),
  acceptance: z.enum(ACCEPTANCE_FILTERS).nullable(),
}) satisfies z.ZodType<DetectionHit>;
export const AuditHitSchema = z.object({
  eventId: z.string(),
  globalPosition: z.number().int(),
  streamId: z.string(),
  streamVersion: z.number().int(),
  eventType: z.string(),
  action: z.string(),
  actor: z.string(),
  correlationId: z.string().nullable(),
  recordedAt: z.string(),
  summary: z.string(),
}) satisfies z.ZodType<AuditHit>;
