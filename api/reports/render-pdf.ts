import PDFDocument from 'pdfkit';
import type { ReportData } from './report-data.js';
import {
  AUDIT_COMMAND,
  DETECTION_COLUMNS,
  detectionRow,
  identityRows,
  RULE_COLUMNS,
  ruleRows,
  sealText,
  VERIFY_COMMAND,
  verdictHeadline,
} from './sections.js';

/** The standard PDF fonts speak WinAnsi only: spell the few other characters we print. */
const latin = (text: string) =>
  text
    .replaceAll('≤', '<=')
    .replaceAll('≥', '>=')
    .replaceAll('–', '-')
    .replaceAll('’', "'")
    .replace(/[^\x20-\x7e\xa0-\xff]/g, '?');

/**
 * The PDF report. Its bytes depend only on the data (creation date = the last event's time), so
 * the same report asked for twice is the same file with the same sha256.
 */
export function renderReportPdf(data: ReportData, annotatedPng: Buffer | null): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margin: 40,
    info: {
      Title: `Inspection report ${data.inspectionId}`,
      Author: 'Chitti',
      Subject: `inspection-${data.inspectionId} as of ${data.asOf ?? data.covers.recordedAt}`,
      CreationDate: new Date(data.covers.recordedAt),
      ModDate: new Date(data.covers.recordedAt),
    },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const width = doc.page.width - 80;
  const heading = (text: string) => {
    doc.moveDown(0.6).font('Helvetica-Bold').fontSize(13).text(latin(text)).moveDown(0.2).font('Helvetica').fontSize(9);
  };
  const table = (headers: readonly string[], rows: readonly (readonly string[])[], widths: readonly number[]) => {
    const total = widths.reduce((a, b) => a + b, 0);
    const cols = widths.map((w) => (w / total) * width);
    const line = (cells: readonly string[], bold: boolean) => {
      doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(7);
      const heights = cells.map((c, i) => doc.heightOfString(latin(c), { width: cols[i]! - 4 }));
      const h = Math.max(...heights) + 3;
      if (doc.y + h > doc.page.height - 40) doc.addPage();
      const y = doc.y;
      let x = 40;
      cells.forEach((c, i) => {
        doc.text(latin(c), x + 2, y + 1, { width: cols[i]! - 4 });
        x += cols[i]!;
      });
      doc
        .moveTo(40, y + h)
        .lineTo(40 + width, y + h)
        .lineWidth(0.3)
        .stroke('#999999');
      doc.x = 40;
      doc.y = y + h;
    };
    line(headers, true);
    for (const row of rows) line(row, false);
    doc.font('Helvetica').fontSize(9);
  };

  doc.font('Helvetica-Bold').fontSize(18).text('Inspection report');
  doc.font('Helvetica').fontSize(9);
  for (const [key, value] of identityRows(data)) {
    doc
      .font('Helvetica-Bold')
      .text(`${latin(key)}: `, { continued: true })
      .font('Helvetica')
      .text(latin(value));
  }
  const latest = data.evaluations.at(-1);
  heading('Verdict');
  doc
    .font('Helvetica-Bold')
    .fontSize(11)
    .text(latin(verdictHeadline(latest)))
    .font('Helvetica')
    .fontSize(9);
  if (latest) table(RULE_COLUMNS, ruleRows(latest), [5, 2, 1.3, 1.5, 1, 1.5, 1, 2]);
  for (const e of data.evaluations.slice(0, -1)) {
    doc.text(
      latin(
        `Earlier verdict (kept as recorded): ${e.verdict} against ${e.profile.profileId} revision ${e.profile.revision} at ${e.recordedAt}`,
      ),
    );
  }

  heading('Annotated image');
  if (annotatedPng) {
    const maxHeight = doc.page.height - 80 - (doc.y - 40);
    if (maxHeight < 200) doc.addPage();
    doc.image(annotatedPng, { fit: [width, Math.min(500, doc.page.height - 40 - doc.y)], align: 'center' });
    doc.moveDown(0.5);
  } else {
    doc.text('The image bytes are erased (file deleted); detections are listed below.');
  }
  doc.x = 40;
  heading(`Detections (${data.detections.length}, boxes in original pixels)`);
  table(DETECTION_COLUMNS, data.detections.map(detectionRow), [1.2, 2.2, 0.8, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1.6]);

  heading('Who did what, when');
  table(
    ['ver', 'pos', 'time', 'event', 'what'],
    data.history.map((e) => [String(e.streamVersion), String(e.globalPosition), e.recordedAt, e.type, e.summary]),
    [0.6, 0.8, 2.6, 2.4, 7],
  );

  heading('Provenance');
  doc.text(
    latin(
      `Each event's sha256 covers its content and the previous event's hash in the stream inspection-${data.inspectionId}.`,
    ),
  );
  table(
    ['ver', 'pos', 'sha256'],
    data.history.map((e) => [String(e.streamVersion), String(e.globalPosition), e.hash]),
    [0.6, 0.8, 8],
  );
  doc.moveDown(0.3).text(latin(`Seal: ${sealText(data)}`));
  doc.moveDown(0.3).text(latin(`Verify this file: ${VERIFY_COMMAND} (or POST /v1/reports/verify with its bytes).`));
  doc.text(latin(`Verify the whole log: ${AUDIT_COMMAND}.`));
  doc.end();
  return done;
}
