import type { Tiling, TilingUsed } from '../schemas/events/index.js';

export interface Size {
  readonly width: number;
  readonly height: number;
}

/** Overlapping tiles of the model's input size over the image resampled to `scale`. */
export interface TilePlan {
  /** Model-input pixels per image pixel. */
  readonly scale: number;
  /** The image at that scale (what the tiles cover). */
  readonly scaled: Size;
  readonly tileSize: Size;
  readonly overlapPx: number;
  /** Tile origins in scaled pixels, per axis; tile (c, r) starts at (xs[c], ys[r]). */
  readonly xs: readonly number[];
  readonly ys: readonly number[];
}

export type InputPlan = { readonly kind: 'letterbox' } | { readonly kind: 'tiles'; readonly plan: TilePlan };

/**
 * Whole image or tiles: without a tiling setting, or when letterboxing would shrink the image by
 * at most `maxLetterboxShrink` relative to the tiling scale, the image is letterboxed as before
 * (images smaller than a tile included). Otherwise tiles of the input size cover the image at
 * `scale` = pixel spacing / mmPerInputPixel (spacing known), else 1 (native resolution).
 */
export function planInput(
  image: Size,
  inputSize: Size,
  tiling: Tiling | null,
  pixelSpacingMm: number | null,
): InputPlan {
  if (!tiling) return { kind: 'letterbox' };
  const scale =
    tiling.mmPerInputPixel !== null && pixelSpacingMm !== null && pixelSpacingMm > 0
      ? pixelSpacingMm / tiling.mmPerInputPixel
      : 1;
  const letterboxRatio = Math.min(inputSize.width / image.width, inputSize.height / image.height);
  if (scale / letterboxRatio <= tiling.maxLetterboxShrink) return { kind: 'letterbox' };
  const scaled = {
    width: Math.max(1, Math.round(image.width * scale)),
    height: Math.max(1, Math.round(image.height * scale)),
  };
  const overlapPx = Math.min(tiling.overlapPx, Math.floor((Math.min(inputSize.width, inputSize.height) - 1) / 2));
  return {
    kind: 'tiles',
    plan: {
      scale,
      scaled,
      tileSize: { width: inputSize.width, height: inputSize.height },
      overlapPx,
      xs: tileOrigins(scaled.width, inputSize.width, overlapPx),
      ys: tileOrigins(scaled.height, inputSize.height, overlapPx),
    },
  };
}

/**
 * Origins of the fewest tiles of `tile` pixels covering `length` with neighbours overlapping by at
 * least `overlap`: spread evenly, the first at 0 and the last ending at the border (a tile never
 * hangs over the image unless the image is smaller than one tile).
 */
export function tileOrigins(length: number, tile: number, overlap: number): number[] {
  if (!(overlap >= 0 && overlap < tile)) throw new RangeError(`overlap ${overlap} must be in [0, ${tile})`);
  if (length <= tile) return [0];
  const count = Math.ceil((length - overlap) / (tile - overlap));
  // floor keeps every step at most tile − overlap (the real step is, and the overlap an integer).
  return Array.from({ length: count }, (_, i) => Math.floor((i * (length - tile)) / (count - 1)));
}

export interface TilePosition {
  readonly index: number;
  readonly column: number;
  readonly row: number;
  /** Origin in scaled pixels. */
  readonly x: number;
  readonly y: number;
}

export const tileCount = (plan: TilePlan): number => plan.xs.length * plan.ys.length;

/** Tiles in row-major order. */
export function tileAt(plan: TilePlan, index: number): TilePosition {
  const column = index % plan.xs.length;
  const row = Math.floor(index / plan.xs.length);
  if (!Number.isInteger(index) || index < 0 || row >= plan.ys.length) throw new RangeError(`no tile ${index}`);
  return { index, column, row, x: plan.xs[column]!, y: plan.ys[row]! };
}

/** What DetectionsRecorded records about the tiling used. */
export function tilingUsed(plan: TilePlan): TilingUsed {
  return {
    tileSize: { ...plan.tileSize },
    overlapPx: plan.overlapPx,
    scale: plan.scale,
    grid: { columns: plan.xs.length, rows: plan.ys.length },
    tiles: tileCount(plan),
  };
}
