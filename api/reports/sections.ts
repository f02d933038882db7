import type { ReportData, ReportDetection } from './report-data.js';

/** The facts every format prints, as label/value pairs and tables, so HTML, PDF and CSV say the same. */

export const VERIFY_COMMAND = 'chitti report verify <this file>';
export const AUDIT_COMMAND = 'chitti audit verify';

const mm = (value: number | null) => (value === null ? '–' : value.toFixed(2));

export function identityRows(data: ReportData): [string, string][] {
  const f = data.file;
  const r = data.request;
  return [
    ['Inspection', data.inspectionId],
    ['As of', data.asOf ?? `issue (last event ${data.covers.recordedAt})`],
    [
      'File',
      f ? `${f.fileId} (${f.originalName}, ${f.mediaType}, ${f.width}x${f.height}, ${f.bitDepth}-bit)` : r.fileId,
    ],
    ['File sha256', f?.sha256 ?? r.fileSha256 ?? 'unknown'],
    ...Object.entries(data.dicom).map(([key, value]): [string, string] => [`DICOM ${key}`, value]),
    [
      'Pixel spacing',
      data.pixelSpacingMm
        ? `${data.pixelSpacingMm.row} mm (rows) x ${data.pixelSpacingMm.column} mm (columns)`
        : 'unknown: sizes in pixels only, mm rules indeterminate',
    ],
    ['Model', `${r.model.name}@${r.model.version}`],
    ['Model sha256', r.model.sha256 ?? 'not recorded'],
    [
      'Thresholds',
      `confidence ${r.thresholds.confidence}${classConfidenceText(r.thresholds.classConfidence)}, NMS IoU ${r.thresholds.iou}, max ${r.thresholds.maxDetections} detections`,
    ],
    ['Why this model', selectionText(r.selection)],
    ['Shadows', r.shadows.length ? r.shadows.map((s) => `${s.name}@${s.version}`).join(', ') : 'none'],
    ['Requested by', r.requestedBy],
    [
      'Closed',
      data.closure
        ? `${data.closure.outcome} by ${data.closure.closedBy}${data.closure.note ? `: ${data.closure.note}` : ''}`
        : 'not closed',
    ],
  ];
}

function selectionText(selection: ReportData['request']['selection']): string {
  const weights = Object.entries(selection.weights)
    .map(([v, p]) => `${v} ${p}%`)
    .join(', ');
  switch (selection.reason) {
    case 'explicit':
      return `pinned by the request (split: ${weights})`;
    case 'only-version':
      return `the only version taking traffic (${weights})`;
    case 'traffic-split':
      return `traffic split ${weights}, roll ${selection.roll}`;
  }
}

export const DETECTION_COLUMNS = [
  'role',
  'model',
  'id',
  'class',
  'score',
  'x1',
  'y1',
  'x2',
  'y2',
  'width px',
  'height px',
  'size mm',
  'length mm',
  'review',
  'reviewer',
] as const;

export function detectionRow(d: ReportDetection): string[] {
  const review = d.review
    ? `${d.review.verdict}${d.review.newClassName ? ` -> ${d.review.newClassName}` : ''}`
    : d.role === 'live'
      ? 'unreviewed'
      : '';
  return [
    d.role,
    d.model,
    d.detectionId,
    d.className,
    d.score.toFixed(3),
    d.box.x1.toFixed(1),
    d.box.y1.toFixed(1),
    d.box.x2.toFixed(1),
    d.box.y2.toFixed(1),
    d.widthPx.toFixed(1),
    d.heightPx.toFixed(1),
    mm(d.sizeMm),
    mm(d.lengthMm),
    review,
    d.review?.reviewer ?? '',
  ];
}

export const RULE_COLUMNS = ['rule', 'classes', 'outcome', 'measured', 'limit', 'unit', 'worst', 'detections'] as const;

export function ruleRows(evaluation: ReportData['evaluations'][number]): string[][] {
  return evaluation.rules.map((r) => [
    `${r.ruleId}: ${r.description}`,
    r.classes.join(', '),
    r.outcome.toUpperCase(),
    r.measured === null ? 'not measurable' : String(r.measured),
    String(r.limit),
    r.unit,
    r.worst ?? '',
    r.detectionIds.join(' ') || 'none',
  ]);
}

export function verdictHeadline(evaluation: ReportData['evaluations'][number] | undefined): string {
  if (!evaluation) return 'No verdict recorded (no acceptance profile evaluated)';
  const p = evaluation.profile;
  return `${evaluation.verdict.toUpperCase()} against ${p.name} (${p.profileId}, revision ${p.revision}), evaluated by ${evaluation.evaluatedBy} at ${evaluation.recordedAt}; used ${evaluation.detections.map((d) => d.detectionId).join(' ') || 'no detections'}${evaluation.excluded.length ? `, excluded (rejected by review) ${evaluation.excluded.join(' ')}` : ''}`;
}

export function sealText(data: ReportData): string {
  const s = data.seal;
  return s
    ? `seal #${s.sealNumber} over global positions ${s.fromPosition}..${s.toPosition}, digest ${s.digest}, sealed ${s.sealedAt}`
    : 'not sealed yet: these events are protected by their hash chain alone until the sealer reaches them';
}

/** Per-class confidences after the global one, e.g. ` (crack 0.3, porosity 0.65)`; nothing when there are none. */
function classConfidenceText(classConfidence: Readonly<Record<string, number>> | undefined): string {
  const entries = Object.entries(classConfidence ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length === 0 ? '' : ` (${entries.map(([name, value]) => `${name} ${value}`).join(', ')})`;
}
