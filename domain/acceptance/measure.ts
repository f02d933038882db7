import type { Box, DetectionMeasurement, PixelSpacingMm } from '../../schemas/events/index.js';

/** A detection as the verdict sees it: its box in original-image pixels and the class after review. */
export interface MeasuredInput {
  readonly box: Box;
  readonly image: { readonly width: number; readonly height: number };
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));

/**
 * The one place pixels become millimetres. Width runs along columns (× column spacing), height
 * along rows (× row spacing). Without a pixel spacing the mm values are null: never guessed.
 */
export function measureDetection(
  { box, image }: MeasuredInput,
  pixelSpacingMm: PixelSpacingMm | null,
): DetectionMeasurement {
  const widthPx = Math.max(0, box.x2 - box.x1);
  const heightPx = Math.max(0, box.y2 - box.y1);
  const areaPercent = ((Math.PI / 4) * widthPx * heightPx * 100) / (image.width * image.height);
  if (!pixelSpacingMm) {
    return {
      widthPx: round(widthPx, 2),
      heightPx: round(heightPx, 2),
      sizeMm: null,
      lengthMm: null,
      areaPercent: round(areaPercent, 6),
    };
  }
  const widthMm = widthPx * pixelSpacingMm.column;
  const heightMm = heightPx * pixelSpacingMm.row;
  return {
    widthPx: round(widthPx, 2),
    heightPx: round(heightPx, 2),
    sizeMm: round(Math.max(widthMm, heightMm), 3),
    lengthMm: round(Math.hypot(widthMm, heightMm), 3),
    areaPercent: round(areaPercent, 6),
  };
}

/**
 * Where the pixel spacing of a file comes from: the upload's `pixelSpacingMm` when the upload
 * recorded one (DICOM files), else unknown. Kept apart so the recorded field can be re-pointed
 * in one place.
 */
export function pixelSpacingOfUpload(upload: object | null | undefined): PixelSpacingMm | null {
  const spacing = (upload as { pixelSpacingMm?: unknown } | null | undefined)?.pixelSpacingMm;
  if (typeof spacing !== 'object' || spacing === null) return null;
  const { row, column } = spacing as { row?: unknown; column?: unknown };
  return typeof row === 'number' && typeof column === 'number' && row > 0 && column > 0 ? { row, column } : null;
}
