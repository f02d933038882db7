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

const esc = (text: string) =>
  text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!);

const table = (headers: readonly string[], rows: readonly (readonly string[])[], caption: string) =>
  `<table><caption>${esc(caption)}</caption><thead><tr>${headers.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;

/** A self-contained HTML report (the annotated image inlined, no external resources). */
export function renderReportHtml(data: ReportData, annotatedPng: Buffer | null): string {
  const latest = data.evaluations.at(-1);
  const earlier = data.evaluations.slice(0, -1);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Inspection report ${esc(data.inspectionId)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#111}table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #999;padding:2px 6px;text-align:left;font-size:12px}caption{text-align:left;font-weight:bold}img{max-width:100%;border:1px solid #333}code{font-size:12px;word-break:break-all}.verdict{font-size:18px;font-weight:bold}</style>
</head><body>
<h1>Inspection report</h1>
<dl>${identityRows(data)
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`)
    .join('')}</dl>
<h2>Verdict</h2>
<p class="verdict">${esc(verdictHeadline(latest))}</p>
${latest ? table(RULE_COLUMNS, ruleRows(latest), 'Rule outcomes') : ''}
${earlier.length ? `<p>Earlier verdicts (kept as recorded): ${earlier.map((e) => esc(`${e.verdict} against ${e.profile.profileId} revision ${e.profile.revision} at ${e.recordedAt}`)).join('; ')}</p>` : ''}
<h2>Annotated image</h2>
${annotatedPng ? `<img alt="The radiograph with ${data.detections.length} detection boxes" src="data:image/png;base64,${annotatedPng.toString('base64')}">` : '<p>The image bytes are erased (file deleted); detections are listed below.</p>'}
<h2>Detections</h2>
${table(DETECTION_COLUMNS, data.detections.map(detectionRow), `${data.detections.length} detections (boxes in original pixels)`)}
<h2>Who did what, when</h2>
${table(
  ['version', 'position', 'time', 'event', 'what'],
  data.history.map((e) => [String(e.streamVersion), String(e.globalPosition), e.recordedAt, e.type, e.summary]),
  'The inspection stream',
)}
<h2>Provenance</h2>
<p>Each event's sha256 covers its content and the previous event's hash in the stream <code>inspection-${esc(data.inspectionId)}</code>.</p>
${table(
  ['version', 'position', 'sha256'],
  data.history.map((e) => [String(e.streamVersion), String(e.globalPosition), e.hash]),
  'Event hashes',
)}
<p>Seal: ${esc(sealText(data))}</p>
<p>Verify this file: <code>${esc(VERIFY_COMMAND)}</code> (or <code>POST /v1/reports/verify</code> with its bytes). Verify the whole log: <code>${esc(AUDIT_COMMAND)}</code>.</p>
</body></html>
`;
}
