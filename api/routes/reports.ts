import { createHash } from 'node:crypto';
import { streamIdOf } from '../../schemas/events/index.js';
import type { ApiDependencies, ResolvedApiOptions } from '../dependencies.js';
import { mayReadStream } from '../disclosure.js';
import { forbidden, HttpProblem } from '../http/problem.js';
import { route } from '../http/route.js';
import { renderAnnotatedPng } from '../reports/annotate.js';
import { renderReportCsv } from '../reports/render-csv.js';
import { renderReportHtml } from '../reports/render-html.js';
import { renderReportPdf } from '../reports/render-pdf.js';
import { loadReportData, type ReportData } from '../reports/report-data.js';
import { verifyReport } from '../reports/verify-report.js';
import { type AsOf, ImageQuery, InspectionParams, ReportQuery, ReportVerification } from '../schemas.js';
import { commandContext, describeAsOf, readerOf } from './helpers.js';

/**
 * A report read is a GET: it takes no idempotency key and no If-Match; the decider records the
 * same bytes to the same person once.
 */
const issuanceContext = (input: Parameters<typeof commandContext>[0]) => {
  const { idempotencyKey: _key, expectedVersion: _version, ...ctx } = commandContext(input);
  return ctx;
};

type Format = 'pdf' | 'html' | 'csv' | 'json';
const MEDIA: Record<Format, string> = {
  pdf: 'application/pdf',
  html: 'text/html; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
};
/** The report image is scaled so its longer side is at most this many pixels (the PNG route keeps them all). */
export const REPORT_IMAGE_MAX_SIDE = 2000;

/** `?format=` wins; else the first of the Accept header's types we make; else PDF. */
function negotiate(format: Format | undefined, accepts: (types: string[]) => string | false): Format {
  if (format) return format;
  const chosen = accepts(['application/pdf', 'text/html', 'text/csv', 'application/json']);
  return chosen === 'text/html'
    ? 'html'
    : chosen === 'text/csv'
      ? 'csv'
      : chosen === 'application/json'
        ? 'json'
        : 'pdf';
}

const asOfText = (at: AsOf | undefined) => (at ? describeAsOf(at).replace(/^asOf=/, '') : null);

const asOfRead = (inspectionId: string, asOf: AsOf | undefined) =>
  asOf
    ? {
        action: 'aggregate.as-of' as const,
        resource: `inspection-${inspectionId}?${describeAsOf(asOf)}`,
        permission: 'history:as-of' as const,
      }
    : undefined;

export const reportRoutes = (deps: ApiDependencies, options: ResolvedApiOptions) => {
  const annotated = async (data: ReportData, maxSide?: number) => {
    const sha256 = data.file?.sha256 ?? data.request.fileSha256;
    const bytes = sha256 ? await deps.blobs.get(sha256) : undefined;
    if (!bytes) return null;
    return renderAnnotatedPng(bytes, data.detections, {
      maxPixels: options.maxImagePixels,
      ...(maxSide ? { maxSide } : {}),
    });
  };
  const load = (
    input: { params: { inspectionId: string }; query: { asOf?: AsOf; shadow: boolean } },
    reader: ReturnType<typeof readerOf>,
  ) => {
    const stream = streamIdOf('inspection', input.params.inspectionId);
    if (!mayReadStream(reader, stream)) throw forbidden(`your roles may not read the events of ${stream}`);
    return loadReportData(
      deps.history,
      deps.auditVerifier,
      input.params.inspectionId,
      input.query.asOf ?? undefined,
      asOfText(input.query.asOf),
      input.query.shadow,
    );
  };
  return [
    route({
      method: 'get',
      path: '/v1/inspections/:inspectionId/report',
      operationId: 'getInspectionReport',
      summary: 'The inspection report (PDF, HTML, or the detections as CSV/JSON); with ?asOf= as it stood then',
      description:
        'Format by `?format=` or the Accept header (default PDF). Shows the annotated image, the detections with px ' +
        '(and mm when the pixel spacing is known) sizes and reviews, the latest verdict with every rule, the model and why ' +
        'it was chosen, the file identity, who did what when, and the provenance: event hashes, the newest seal covering ' +
        'them and how to verify. Every report handed out is recorded (ReportIssued: sha256 of the bytes, who, asOf, ' +
        'format); the same bytes to the same person are recorded once. The bytes depend only on the history shown.',
      tag: 'reports',
      permission: 'inspections:read',
      params: InspectionParams,
      query: ReportQuery,
      sensitive: ({ params, query }) => asOfRead(params.inspectionId, query.asOf),
      responses: {
        200: {
          description: 'The report; header Chitti-Report-Sha256 names its sha256',
          contentType: 'application/pdf',
        },
        404: { description: 'No such inspection (at that point)' },
      },
      handle: async (input) => {
        const format = negotiate(input.query.format, (types) => input.req.accepts(types));
        const data = await load(input, readerOf(input));
        let bytes: Buffer;
        if (format === 'csv') bytes = Buffer.from(renderReportCsv(data));
        else if (format === 'json') bytes = Buffer.from(`${JSON.stringify(data, null, 2)}\n`);
        else {
          const png = (await annotated(data, REPORT_IMAGE_MAX_SIDE))?.png ?? null;
          bytes = format === 'pdf' ? await renderReportPdf(data, png) : Buffer.from(renderReportHtml(data, png));
        }
        const reportSha256 = createHash('sha256').update(bytes).digest('hex');
        await deps.commands.recordReportIssued(
          {
            inspectionId: data.inspectionId,
            reportSha256,
            sizeBytes: bytes.length,
            format,
            asOf: data.asOf,
            shadow: input.query.shadow,
            covers: {
              streamVersion: data.covers.streamVersion,
              globalPosition: data.covers.globalPosition,
              eventHash: data.covers.eventHash,
            },
          },
          issuanceContext(input),
        );
        const { res } = input;
        res.status(200);
        res.setHeader('Content-Type', MEDIA[format]);
        res.setHeader('Chitti-Report-Sha256', reportSha256);
        res.setHeader('Cache-Control', 'private, no-store');
        if (format !== 'html') {
          res.setHeader(
            'Content-Disposition',
            `attachment; filename="inspection-${data.inspectionId}-v${data.covers.streamVersion}.${format}"`,
          );
        }
        res.end(bytes);
        return undefined;
      },
    }),
    route({
      method: 'get',
      path: '/v1/inspections/:inspectionId/image',
      operationId: 'getInspectionImage',
      summary:
        'The inspected image as PNG with its detections drawn (id, class, score); ?shadow=true adds shadow boxes dashed',
      tag: 'reports',
      permission: 'inspections:read',
      params: InspectionParams,
      query: ImageQuery,
      sensitive: ({ params, query }) => asOfRead(params.inspectionId, query.asOf),
      responses: {
        200: {
          description: 'PNG, full resolution, 16-bit radiographs windowed as the model saw them',
          contentType: 'image/png',
        },
        404: { description: 'No such inspection' },
        410: { description: 'The file was deleted; its bytes are erased' },
      },
      handle: async (input) => {
        const data = await load(input, readerOf(input));
        const rendered = await annotated({ ...data, detections: input.query.annotated ? data.detections : [] });
        if (!rendered) {
          throw new HttpProblem({
            status: 410,
            slug: 'blob-erased',
            title: 'Gone',
            detail: 'the image bytes are erased',
          });
        }
        input.res.status(200);
        input.res.setHeader('Content-Type', 'image/png');
        input.res.setHeader('Cache-Control', 'private, no-store');
        input.res.end(rendered.png);
        return undefined;
      },
    }),
    route({
      method: 'post',
      path: '/v1/reports/verify',
      operationId: 'verifyReport',
      summary:
        'Was this exact report file issued by Chitti, for which inspection and when, and does its history still verify?',
      tag: 'reports',
      permission: 'audit:verify',
      idempotent: false,
      body: {
        kind: 'binary',
        mediaTypes: ['application/pdf', 'text/html', 'text/csv', 'application/json', 'application/octet-stream'],
        maxBytes: options.maxUploadBytes,
        description: 'The report file, byte for byte as it was downloaded',
      },
      responses: { 200: { description: 'The verification', schema: ReportVerification } },
      handle: async (input) => ({ status: 200, body: await verifyReport(deps, input.body as Buffer) }),
    }),
  ];
};
