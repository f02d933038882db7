import sharp from 'sharp';
import { decodeImage } from '../../inference/preprocess.js';
import type { ReportDetection } from './report-data.js';

const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45'];
const colourOf = (className: string) => {
  let h = 0;
  for (const c of className) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length]!;
};

const escapeXml = (text: string) =>
  text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

/** What a box's label says: id, class (the reviewer's new class after a relabel), score. */
export const boxLabel = (d: ReportDetection): string => {
  const cls = d.review?.verdict === 'relabelled' && d.review.newClassName ? `${d.review.newClassName}*` : d.className;
  const rejected = d.review?.verdict === 'rejected' ? ' (rejected)' : '';
  return `${d.role === 'shadow' ? `${d.model} ` : ''}${d.detectionId} ${cls} ${d.score.toFixed(2)}${rejected}`;
};

/** The SVG overlay: live boxes solid, shadow boxes dashed, rejected ones thin; labels above each box. */
export function overlaySvg(
  detections: readonly ReportDetection[],
  size: { width: number; height: number },
  scale: number,
): string {
  const stroke = Math.max(2, Math.round(Math.max(size.width, size.height) / 400));
  const font = Math.max(12, Math.round(Math.max(size.width, size.height) / 70));
  const shapes = detections.map((d) => {
    const x = d.box.x1 * scale;
    const y = d.box.y1 * scale;
    const w = Math.max(1, (d.box.x2 - d.box.x1) * scale);
    const h = Math.max(1, (d.box.y2 - d.box.y1) * scale);
    const colour = colourOf(d.review?.newClassName ?? d.className);
    const dash = d.role === 'shadow' ? ` stroke-dasharray="${stroke * 3},${stroke * 2}"` : '';
    const width = d.review?.verdict === 'rejected' ? Math.max(1, stroke / 2) : stroke;
    const labelY = y - stroke > font ? y - stroke : y + h + font;
    return (
      `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="none" stroke="${colour}" stroke-width="${width}"${dash}/>` +
      `<text x="${x.toFixed(1)}" y="${labelY.toFixed(1)}" font-family="DejaVu Sans, Arial, sans-serif" font-size="${font}" fill="${colour}" stroke="#000" stroke-width="${Math.max(1, font / 8).toFixed(1)}" paint-order="stroke">${escapeXml(boxLabel(d))}</text>`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size.width}" height="${size.height}">${shapes.join('')}</svg>`;
}

/**
 * The image as the model saw it (16-bit radiographs windowed the same way) with the detections
 * drawn on it, as PNG. `maxSide` scales it down first (reports); absent, it keeps every pixel.
 */
export async function renderAnnotatedPng(
  bytes: Uint8Array,
  detections: readonly ReportDetection[],
  options: { readonly maxPixels: number; readonly maxSide?: number },
): Promise<{ png: Buffer; width: number; height: number }> {
  const decoded = await decodeImage(bytes, { maxPixels: options.maxPixels });
  const scale = options.maxSide ? Math.min(1, options.maxSide / Math.max(decoded.width, decoded.height)) : 1;
  const width = Math.max(1, Math.round(decoded.width * scale));
  const height = Math.max(1, Math.round(decoded.height * scale));
  let image = sharp(Buffer.from(decoded.pixels.buffer, decoded.pixels.byteOffset, decoded.pixels.length), {
    raw: { width: decoded.width, height: decoded.height, channels: decoded.channels },
    limitInputPixels: options.maxPixels,
  });
  if (scale < 1) image = sharp(await image.resize(width, height).png({ compressionLevel: 1 }).toBuffer());
  const svg = Buffer.from(overlaySvg(detections, { width, height }, scale));
  const png = await image
    .toColourspace('srgb')
    .composite([{ input: svg, top: 0, left: 0 }])
    .png({ compressionLevel: 6 })
    .toBuffer();
  return { png, width, height };
}
