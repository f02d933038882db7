import type { Detection, PixelSpacingMm } from '../../schemas/events/index.js';

const round = (value: number, decimals: number) => Number(value.toFixed(decimals));

/**
 * The size of one box in millimetres, from its extent in original-image pixels and the pixel
 * spacing (`column` spacing across x, `row` spacing along y). `lengthMm` is the longer side: for a
 * crack or lack of fusion, the length along the indication, taken as the box's longer side (exact
 * for an indication along an image axis, an under-estimate for a diagonal one); `widthMm` the
 * shorter side; `areaMm2` the box's area. Rounded to 1 µm and 0.0001 mm².
 */
export function boxSizeMm(box: Detection['box'], spacing: PixelSpacingMm): NonNullable<Detection['size']> {
  const across = Math.max(0, box.x2 - box.x1) * spacing.column;
  const along = Math.max(0, box.y2 - box.y1) * spacing.row;
  return {
    lengthMm: round(Math.max(across, along), 3),
    widthMm: round(Math.min(across, along), 3),
    areaMm2: round(across * along, 4),
  };
}

/**
 * The detections as DetectionsRecorded records them: with their size in mm and the spacing used
 * when the file's pixel spacing is known; unchanged, and no spacing, when it is not (never a guess).
 */
export function measureDetections(
  detections: readonly Detection[],
  spacing: PixelSpacingMm | undefined,
): { detections: Detection[]; pixelSpacingMm?: PixelSpacingMm } {
  if (!spacing) return { detections: detections.map(({ size: _size, ...d }) => d) };
  return {
    detections: detections.map((d) => ({ ...d, size: boxSizeMm(d.box, spacing) })),
    pixelSpacingMm: spacing,
  };
}
