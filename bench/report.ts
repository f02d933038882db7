/**
 * Report benchmark: one inspection with 300 detections on a 10,000 × 4,000 px 16-bit radiograph
 * (a long weld strip), rendered the way GET /v1/inspections/{id}/report and /image do it:
 *   - baseline: decode + window the image and encode it as PNG with nothing drawn;
 *   - the annotated PNG at full size (GET /image?annotated=true);
 *   - the PDF report (image scaled to 2,000 px, 300-row table, history, provenance);
 *   - the HTML report, and the CSV of the detections.
 * Prints wall time (best of BENCH_RUNS, default 3), size, and the ratio of each to the baseline.
 *
 *   node --import tsx bench/report.ts
 */
import { createHash } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import sharp from 'sharp';
import { renderAnnotatedPng } from '../api/reports/annotate.js';
import { renderReportCsv } from '../api/reports/render-csv.js';
import { renderReportHtml } from '../api/reports/render-html.js';
import { renderReportPdf } from '../api/reports/render-pdf.js';
import type { ReportData, ReportDetection } from '../api/reports/report-data.js';
import { REPORT_IMAGE_MAX_SIDE } from '../api/routes/reports.js';
import { decodeImage } from '../inference/preprocess.js';
import { DEFAULT_THRESHOLDS } from '../schemas/events/index.js';
import { runIfMain } from './support.js';

const WIDTH = 10_000;
const HEIGHT = 4_000;
const DETECTIONS = 300;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const MAX_PIXELS = 100_000_000;
const CLASSES = ['porosity', 'crack', 'slag_inclusion', 'lack_of_fusion', 'undercut'];

async function radiograph(): Promise<Buffer> {
  // A 16-bit gradient with a brighter weld band: enough structure for the windowing to matter.
  const samples = new Uint16Array(WIDTH * HEIGHT);
  for (let y = 0; y < HEIGHT; y++) {
    const band = Math.abs(y - HEIGHT / 2) < HEIGHT / 8 ? 12_000 : 0;
    for (let x = 0; x < WIDTH; x++) samples[y * WIDTH + x] = 20_000 + band + ((x * 7 + y * 13) % 4096);
  }
  return sharp(Buffer.from(samples.buffer), {
    raw: { width: WIDTH, height: HEIGHT, channels: 1, premultiplied: false },
  })
    .toColourspace('grey16')
    .png({ compressionLevel: 1 })
    .toBuffer();
}

function reportData(): ReportData {
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const detections: ReportDetection[] = Array.from({ length: DETECTIONS }, (_, i) => {
    const x1 = Math.round(random() * (WIDTH - 200));
    const y1 = Math.round(HEIGHT / 2 - 400 + random() * 800);
    const w = 5 + Math.round(random() * 150);
    const h = 5 + Math.round(random() * 40);
    return {
      role: 'live',
      model: 'weld-defects@1.1.0',
      detectionId: `d${i}`,
      className: CLASSES[i % CLASSES.length]!,
      score: 0.25 + random() * 0.75,
      box: { x1, y1, x2: x1 + w, y2: y1 + h },
      widthPx: w,
      heightPx: h,
      sizeMm: Math.max(w, h) * 0.1,
      lengthMm: Math.hypot(w, h) * 0.1,
      review:
        i % 7 === 0
          ? { verdict: 'confirmed', newClassName: null, reviewer: 'reviewer-1', at: '2026-11-23T10:00:00.000Z' }
          : null,
    };
  });
  const hash = (n: number) => createHash('sha256').update(String(n)).digest('hex');
  const history = Array.from({ length: 50 }, (_, i) => ({
    streamVersion: i + 1,
    globalPosition: 1000 + i,
    type: i === 0 ? 'InspectionRequested' : 'DetectionReviewed',
    recordedAt: '2026-11-23T10:00:00.000Z',
    hash: hash(i),
    summary: `event ${i + 1} of the inspection`,
  }));
  const model = { name: 'weld-defects', version: '1.1.0', sha256: hash(-1) };
  return {
    inspectionId: 'bench-inspection',
    asOf: null,
    request: {
      inspectionId: 'bench-inspection',
      fileId: 'bench-file',
      fileSha256: hash(-2),
      model,
      selection: { reason: 'only-version', roll: null, weights: { '1.1.0': 100 } },
      shadows: [],
      thresholds: DEFAULT_THRESHOLDS,
      requestedBy: 'operator-1',
    },
    file: null,
    dicom: {},
    image: { width: WIDTH, height: HEIGHT },
    pixelSpacingMm: { row: 0.1, column: 0.1 },
    live: null,
    shadows: [],
    detections,
    evaluations: [],
    closure: null,
    history,
    covers: { streamVersion: 50, globalPosition: 1049, eventHash: hash(49), recordedAt: '2026-11-23T10:00:00.000Z' },
    seal: null,
  };
}

async function best<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  let ms = Number.POSITIVE_INFINITY;
  let value: T | undefined;
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    value = await fn();
    ms = Math.min(ms, performance.now() - start);
  }
  return { ms, value: value! };
}

export async function main() {
  const image = await radiograph();
  const data = reportData();
  console.log(
    `report bench: ${WIDTH}x${HEIGHT} 16-bit PNG (${(image.length / 1e6).toFixed(1)} MB), ${DETECTIONS} detections, best of ${RUNS}; ${cpus().length} CPUs, load ${loadavg()[0]!.toFixed(2)}`,
  );
  const baseline = await best(async () => {
    const decoded = await decodeImage(image, { maxPixels: MAX_PIXELS });
    return sharp(Buffer.from(decoded.pixels), {
      raw: { width: decoded.width, height: decoded.height, channels: decoded.channels },
    })
      .png({ compressionLevel: 6 })
      .toBuffer();
  });
  const rows: [string, number, number][] = [
    ['baseline: decode + window + PNG, nothing drawn', baseline.ms, baseline.value.length],
  ];
  const full = await best(() => renderAnnotatedPng(image, data.detections, { maxPixels: MAX_PIXELS }));
  rows.push(['annotated PNG, full size (GET /image)', full.ms, full.value.png.length]);
  const pdf = await best(async () => {
    const png = await renderAnnotatedPng(image, data.detections, {
      maxPixels: MAX_PIXELS,
      maxSide: REPORT_IMAGE_MAX_SIDE,
    });
    return renderReportPdf(data, png.png);
  });
  rows.push(['PDF report (image scaled to 2000 px)', pdf.ms, pdf.value.length]);
  const html = await best(async () => {
    const png = await renderAnnotatedPng(image, data.detections, {
      maxPixels: MAX_PIXELS,
      maxSide: REPORT_IMAGE_MAX_SIDE,
    });
    return Buffer.from(renderReportHtml(data, png.png));
  });
  rows.push(['HTML report (image inlined)', html.ms, html.value.length]);
  const csv = await best(async () => Buffer.from(renderReportCsv(data)));
  rows.push(['CSV of the detections', csv.ms, csv.value.length]);
  for (const [name, ms, bytes] of rows) {
    console.log(
      `${name.padEnd(48)} ${ms.toFixed(0).padStart(6)} ms  ${(bytes / 1e6).toFixed(2).padStart(7)} MB  ×${(ms / baseline.ms).toFixed(2)}`,
    );
  }
  return rows;
}

runIfMain(import.meta.url, main);
