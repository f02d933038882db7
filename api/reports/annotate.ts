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

/** Stroke and label size for an image of this size, so boxes stay visible on small and huge images alike. */
const styleFor = (size: { width: number; height: number }) => ({
  stroke: Math.max(2, Math.round(Math.max(size.width, size.height) / 1000)),
  // Capped: glyph rasterisation dominates the cost on huge images, and 28 px stays legible when zoomed.
  font: Math.min(28, Math.max(12, Math.round(Math.max(size.width, size.height) / 150))),
});

/**
 * One small SVG per detection (its box and label), placed where it belongs. Rasterising 300 small
 * tiles is far cheaper than one overlay the size of a 10,000-px image.
 */
export function overlayTiles(
  detections: readonly ReportDetection[],
  size: { width: number; height: number },
  scale: number,
): { input: Buffer; left: number; top: number }[] {
  const { stroke, font } = styleFor(size);
  const pad = stroke + 1;
  const tiles: { input: Buffer; left: number; top: number }[] = [];
  for (const d of detections) {
    const x = Math.round(d.box.x1 * scale);
    const y = Math.round(d.box.y1 * scale);
    const w = Math.max(1, Math.round((d.box.x2 - d.box.x1) * scale));
    const h = Math.max(1, Math.round((d.box.y2 - d.box.y1) * scale));
    const label = boxLabel(d);
    const labelWidth = Math.ceil(label.length * font * 0.62) + 2 * pad;
    const labelAbove = y - pad - font - 4 >= 0;
    // The tile in image coordinates, clipped to the image.
    const left = Math.max(0, x - pad);
    const top = Math.max(0, labelAbove ? y - pad - font - 4 : y - pad);
    const right = Math.min(size.width, Math.max(x + w + pad, x + labelWidth));
    const bottom = Math.min(size.height, labelAbove ? y + h + pad : y + h + pad + font + 4);
    if (right <= left || bottom <= top) continue;
    const colour = colourOf(d.review?.newClassName ?? d.className);
    const dash = d.role === 'shadow' ? ` stroke-dasharray="${stroke * 3},${stroke * 2}"` : '';
    const width = d.review?.verdict === 'rejected' ? Math.max(1, stroke / 2) : stroke;
    const textY = labelAbove ? y - pad - 2 : y + h + pad + font;
    const svg =
      `<svg xmlns="http://www.w3.org/2000/svg" width="${right - left}" height="${bottom - top}"><g transform="translate(${-left},${-top})">` +
      `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="${colour}" stroke-width="${width}"${dash}/>` +
      `<text x="${x}" y="${textY}" font-family="DejaVu Sans, Arial, sans-serif" font-size="${font}" fill="${colour}" stroke="#000" stroke-width="${Math.max(1, font / 8).toFixed(1)}" paint-order="stroke">${escapeXml(label)}</text>` +
      '</g></svg>';
    tiles.push({ input: Buffer.from(svg), left, top });
  }
  return tiles;
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
  const png = await image
    .toColourspace('srgb')
    .composite(overlayTiles(detections, { width, height }, scale))
    // The overlays bring an alpha channel; the picture itself is opaque.
    .removeAlpha()
    .png({ compressionLevel: 6 })
    .toBuffer();
  return { png, width, height };
}
