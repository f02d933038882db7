import type { ReportData } from './report-data.js';
import { DETECTION_COLUMNS, detectionRow } from './sections.js';

/** RFC 4180: every field quoted, quotes doubled; a leading formula character is neutralised for spreadsheets. */
const field = (value: string) => `"${(/^[=+\-@]/.test(value) ? `'${value}` : value).replaceAll('"', '""')}"`;

export function renderReportCsv(data: ReportData): string {
  const lines = [
    ['inspection', ...DETECTION_COLUMNS],
    ...data.detections.map((d) => [data.inspectionId, ...detectionRow(d)]),
  ];
  return `${lines.map((line) => line.map(field).join(',')).join('\r\n')}\r\n`;
}
