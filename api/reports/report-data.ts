import { measureDetection, pixelSpacingOfUpload } from '../../domain/acceptance/index.js';
import { summarise } from '../../projections/read-models/audit-summary.js';
import {
  type ChittiEvent,
  type EventData,
  type PixelSpacingMm,
  type RecordedEvent,
  streamIdOf,
} from '../../schemas/events/index.js';
import { notFound } from '../http/problem.js';
import type { AggregateHistory, AuditVerifier, PointInTime, SealSummary } from '../ports/queries.js';

export interface ReportEvent {
  readonly streamVersion: number;
  readonly globalPosition: number;
  readonly type: string;
  readonly recordedAt: string;
  readonly hash: string;
  readonly summary: string;
}

export interface ReportDetection {
  readonly role: 'live' | 'shadow';
  readonly model: string;
  readonly detectionId: string;
  readonly className: string;
  readonly score: number;
  readonly box: { readonly x1: number; readonly y1: number; readonly x2: number; readonly y2: number };
  readonly widthPx: number;
  readonly heightPx: number;
  /** Null when the file's pixel spacing is unknown (never guessed). */
  readonly sizeMm: number | null;
  readonly lengthMm: number | null;
  readonly review: {
    readonly verdict: string;
    readonly newClassName: string | null;
    readonly reviewer: string;
    readonly at: string;
  } | null;
}

/** Everything a report shows, read from the inspection's own events (and its file's) up to one point. */
export interface ReportData {
  readonly inspectionId: string;
  /** The `asOf` asked for, as text; null for the report as of now. */
  readonly asOf: string | null;
  readonly request: EventData<'InspectionRequested'>;
  readonly file: (EventData<'FileUploaded'> & Record<string, unknown>) | null;
  /** DICOM identity when the upload recorded one (study, series, SOP instance UIDs...). */
  readonly dicom: Readonly<Record<string, string>>;
  readonly image: { readonly width: number; readonly height: number } | null;
  readonly pixelSpacingMm: PixelSpacingMm | null;
  readonly live: EventData<'DetectionsRecorded'> | null;
  readonly shadows: readonly EventData<'DetectionsRecorded'>[];
  readonly detections: readonly ReportDetection[];
  readonly evaluations: readonly (EventData<'InspectionEvaluated'> & { readonly recordedAt: string })[];
  readonly closure: EventData<'InspectionClosed'> | null;
  readonly history: readonly ReportEvent[];
  /** The last event the report shows: what a ReportIssued names as covered. */
  readonly covers: {
    readonly streamVersion: number;
    readonly globalPosition: number;
    readonly eventHash: string;
    readonly recordedAt: string;
  };
  readonly seal: SealSummary | null;
}

/** Issuance events are left out: a report shows the inspection, not who was handed reports of it. */
const shown = (event: RecordedEvent) => event.type !== 'ReportIssued';

export async function loadReportData(
  history: AggregateHistory,
  audit: AuditVerifier,
  inspectionId: string,
  at: PointInTime | undefined,
  asOfText: string | null,
  includeShadow: boolean,
): Promise<ReportData> {
  const events = (await history.events(streamIdOf('inspection', inspectionId), at)).filter(shown);
  const first = events[0];
  if (first?.type !== 'InspectionRequested')
    throw notFound(`inspection ${inspectionId} not found${at ? ' at that point' : ''}`);
  const request = first.data as EventData<'InspectionRequested'>;
  let live: EventData<'DetectionsRecorded'> | null = null;
  const shadows: EventData<'DetectionsRecorded'>[] = [];
  const reviews = new Map<string, ReportDetection['review']>();
  const evaluations: ReportData['evaluations'][number][] = [];
  let closure: EventData<'InspectionClosed'> | null = null;
  for (const event of events) {
    const domain = { type: event.type, data: event.data } as ChittiEvent;
    if (domain.type === 'DetectionsRecorded') {
      if (domain.data.role === 'live') live = domain.data;
      else shadows.push(domain.data);
    } else if (domain.type === 'DetectionReviewed') {
      const d = domain.data;
      reviews.set(d.detectionId, {
        verdict: d.verdict,
        newClassName: d.newClassName,
        reviewer: d.reviewer,
        at: event.recordedAt.toISOString(),
      });
    } else if (domain.type === 'InspectionEvaluated') {
      evaluations.push({ ...domain.data, recordedAt: event.recordedAt.toISOString() });
    } else if (domain.type === 'InspectionClosed') {
      closure = domain.data;
    }
  }
  const fileEvents = await history.events(streamIdOf('file', request.fileId), at);
  const upload = fileEvents.find((e) => e.type === 'FileUploaded')?.data as ReportData['file'] | undefined;
  const spacing = pixelSpacingOfUpload(upload);
  const rows = (data: EventData<'DetectionsRecorded'>): ReportDetection[] =>
    data.detections.map((d) => {
      const m = measureDetection({ box: d.box, image: data.image }, spacing);
      return {
        role: data.role,
        model: `${data.model.name}@${data.model.version}`,
        detectionId: d.detectionId,
        className: d.className,
        score: d.score,
        box: d.box,
        widthPx: round(d.box.x2 - d.box.x1),
        heightPx: round(d.box.y2 - d.box.y1),
        sizeMm: m.sizeMm,
        lengthMm: m.lengthMm,
        review: data.role === 'live' ? (reviews.get(d.detectionId) ?? null) : null,
      };
    });
  const last = events.at(-1)!;
  return {
    inspectionId,
    asOf: asOfText,
    request,
    file: upload ?? null,
    dicom: dicomIdentityOf(upload ?? undefined),
    pixelSpacingMm: spacing,
    image: live?.image ?? (upload ? { width: upload.width, height: upload.height } : null),
    live,
    shadows: includeShadow ? shadows : [],
    detections: [...(live ? rows(live) : []), ...(includeShadow ? shadows.flatMap(rows) : [])],
    evaluations,
    closure,
    history: events.map((event) => ({
      streamVersion: event.streamVersion,
      globalPosition: event.globalPosition,
      type: event.type,
      recordedAt: event.recordedAt.toISOString(),
      hash: event.hash,
      summary: summarise({ type: event.type, data: event.data } as ChittiEvent),
    })),
    covers: {
      streamVersion: last.streamVersion,
      globalPosition: last.globalPosition,
      eventHash: last.hash,
      recordedAt: last.recordedAt.toISOString(),
    },
    seal: await audit.sealCovering(last.globalPosition),
  };
}

const round = (value: number) => Number(value.toFixed(2));

/**
 * The DICOM identity an upload recorded, if any: every string field whose name ends in `Uid`
 * (study, series, SOP instance...), at the top level or under `dicom`. Kept in one place so the
 * report follows whatever the upload event names them.
 */
export function dicomIdentityOf(upload: object | undefined): Record<string, string> {
  if (!upload) return {};
  const out: Record<string, string> = {};
  const collect = (source: object) => {
    for (const [key, value] of Object.entries(source)) {
      if (typeof value === 'string' && /uid$/i.test(key)) out[key] = value;
    }
  };
  collect(upload);
  const nested = (upload as { dicom?: unknown }).dicom;
  if (typeof nested === 'object' && nested !== null) collect(nested);
  return out;
}
