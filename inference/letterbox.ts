/**
 * Ultralytics' letterbox, as pure arithmetic: the same ratio, rounding and padding split as
 * `ultralytics.data.augment.LetterBox` (auto=False, scaleup=True, center=True), so a user's
 * exported model sees exactly the input Ultralytics would give it. Boxes map back by subtracting
 * the pad actually applied and dividing by r (see decode.ts).
 */

/** Python's round(): halves go to the even neighbour (round(2.5) == 2). */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

export interface LetterboxGeometry {
  readonly source: { readonly width: number; readonly height: number };
  readonly target: { readonly width: number; readonly height: number };
  /** Scale applied to the source: min(targetH / h, targetW / w). */
  readonly ratio: number;
  /** The resized image inside the target: round(w·r) × round(h·r). */
  readonly resized: { readonly width: number; readonly height: number };
  /** Padding with colour 114: top/left = round(d/2 − 0.1), bottom/right = round(d/2 + 0.1). */
  readonly pad: { readonly top: number; readonly bottom: number; readonly left: number; readonly right: number };
}

export function letterboxGeometry(
  sourceWidth: number,
  sourceHeight: number,
  targetWidth: number,
  targetHeight: number,
): LetterboxGeometry {
  for (const [name, v] of Object.entries({ sourceWidth, sourceHeight, targetWidth, targetHeight })) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  }
  const ratio = Math.min(targetHeight / sourceHeight, targetWidth / sourceWidth);
  // Ultralytics would hand cv2 a zero size for extreme aspect ratios; keep at least one pixel.
  const resizedWidth = Math.max(1, roundHalfEven(sourceWidth * ratio));
  const resizedHeight = Math.max(1, roundHalfEven(sourceHeight * ratio));
  const dw = (targetWidth - resizedWidth) / 2;
  const dh = (targetHeight - resizedHeight) / 2;
  return {
    source: { width: sourceWidth, height: sourceHeight },
    target: { width: targetWidth, height: targetHeight },
    ratio,
    resized: { width: resizedWidth, height: resizedHeight },
    pad: {
      top: roundHalfEven(dh - 0.1),
      bottom: roundHalfEven(dh + 0.1),
      left: roundHalfEven(dw - 0.1),
      right: roundHalfEven(dw + 0.1),
    },
  };
}

export const LETTERBOX_FILL = 114;

/**
 * Letterboxes interleaved 8-bit pixels (1 or 3 channels, RGB) into planar RGB (CHW, 3 planes of
 * target size): bilinear resampling with half-pixel centres and edge clamping, like
 * cv2.resize(INTER_LINEAR), rounded to 8 bits as cv2 does, padded with 114.
 * Greyscale is replicated into the three planes.
 */
export function letterboxPlanar(pixels: Uint8Array, channels: 1 | 3, geometry: LetterboxGeometry): Uint8Array {
  const values = new Float32Array(3 * geometry.target.width * geometry.target.height);
  resampleInto(pixels, channels, geometry, values, IDENTITY);
  return Uint8Array.from(values);
}

/**
 * The model input for one image: `letterboxPlanar` followed by /255 (Ultralytics: RGB, CHW,
 * /255, no mean/std), written as float32 in one pass.
 */
export function letterboxTensor(
  pixels: Uint8Array,
  channels: 1 | 3,
  geometry: LetterboxGeometry,
  out: Float32Array = new Float32Array(3 * geometry.target.width * geometry.target.height),
): Float32Array {
  resampleInto(pixels, channels, geometry, out, DIVIDED_BY_255);
  return out;
}

const IDENTITY = Float32Array.from({ length: 256 }, (_, i) => i);
const DIVIDED_BY_255 = Float32Array.from({ length: 256 }, (_, i) => i / 255);

/** Resamples the whole image into its letterbox place in `out`, mapping each rounded 8-bit value through `table`. */
function resampleInto(
  pixels: Uint8Array,
  channels: 1 | 3,
  geometry: LetterboxGeometry,
  out: Float32Array,
  table: Float32Array,
): void {
  const { source, target, resized, pad } = geometry;
  checkSizes(pixels, channels, source, out, target);
  out.fill(table[LETTERBOX_FILL]!);
  resampleWindow(pixels, channels, {
    xs: samplingTaps(source.width, resized.width, channels),
    ys: samplingTaps(source.height, resized.height, source.width * channels),
    from: { x: 0, y: 0 },
    size: resized,
    to: { x: pad.left, y: pad.top },
    target,
    out,
    table,
  });
}

export interface TileRaster {
  /** Interleaved 8-bit pixels of the whole (windowed) image. */
  readonly pixels: Uint8Array;
  readonly channels: 1 | 3;
  readonly width: number;
  readonly height: number;
}

/**
 * One tile of the image resampled to `scaled` size (the same cv2-style bilinear as the letterbox,
 * so a tile at scale 1 is an exact crop): the `tile`-sized window at `origin` of the scaled image,
 * as float32 RGB planes /255; the part beyond the image is filled with 114 like letterbox padding.
 */
export function tileTensor(
  image: TileRaster,
  scaled: { readonly width: number; readonly height: number },
  origin: { readonly x: number; readonly y: number },
  tile: { readonly width: number; readonly height: number },
  out: Float32Array = new Float32Array(3 * tile.width * tile.height),
): Float32Array {
  const { pixels, channels, width, height } = image;
  checkSizes(pixels, channels, { width, height }, out, tile);
  out.fill(DIVIDED_BY_255[LETTERBOX_FILL]!);
  const xs = samplingTaps(width, scaled.width, channels, origin.x, Math.min(tile.width, scaled.width - origin.x));
  const ys = samplingTaps(
    height,
    scaled.height,
    width * channels,
    origin.y,
    Math.min(tile.height, scaled.height - origin.y),
  );
  resampleWindow(pixels, channels, {
    xs,
    ys,
    from: { x: 0, y: 0 },
    size: { width: xs.weight.length, height: ys.weight.length },
    to: { x: 0, y: 0 },
    target: tile,
    out,
    table: DIVIDED_BY_255,
  });
  return out;
}

function checkSizes(
  pixels: Uint8Array,
  channels: 1 | 3,
  source: { width: number; height: number },
  out: Float32Array,
  target: { width: number; height: number },
): void {
  if (pixels.length !== source.width * source.height * channels) {
    throw new RangeError(`expected ${source.width}×${source.height}×${channels} pixels, got ${pixels.length}`);
  }
  if (out.length !== 3 * target.width * target.height) {
    throw new RangeError(`output must hold ${3 * target.width * target.height} values`);
  }
}

interface Window {
  readonly xs: Taps;
  readonly ys: Taps;
  /** First destination index of the taps used, per axis. */
  readonly from: { readonly x: number; readonly y: number };
  readonly size: { readonly width: number; readonly height: number };
  /** Where that window lands in the output planes. */
  readonly to: { readonly x: number; readonly y: number };
  readonly target: { readonly width: number; readonly height: number };
  readonly out: Float32Array;
  readonly table: Float32Array;
}

/** Bilinear resampling of a window of destination pixels into planar RGB, through `table`. */
function resampleWindow(pixels: Uint8Array, channels: 1 | 3, w: Window): void {
  const { xs, ys, from, size, to, target, out, table } = w;
  const plane = target.width * target.height;
  const { index0: x0s, index1: x1s, weight: wxs } = xs;
  const width = size.width;
  for (let y = 0; y < size.height; y++) {
    const r0 = ys.index0[from.y + y]!;
    const r1 = ys.index1[from.y + y]!;
    const wy = ys.weight[from.y + y]!;
    const o = (y + to.y) * target.width + to.x;
    for (let c = 0; c < channels; c++) {
      const planeOffset = c * plane + o;
      for (let x = 0; x < width; x++) {
        const x0 = x0s[from.x + x]! + c;
        const x1 = x1s[from.x + x]! + c;
        const wx = wxs[from.x + x]!;
        const a = pixels[r0 + x0]!;
        const b = pixels[r1 + x0]!;
        const top = a + wx * (pixels[r0 + x1]! - a);
        const bottom = b + wx * (pixels[r1 + x1]! - b);
        out[planeOffset + x] = table[Math.round(top + wy * (bottom - top))]!;
      }
    }
    if (channels === 1) {
      out.copyWithin(plane + o, o, o + width);
      out.copyWithin(2 * plane + o, o, o + width);
    }
  }
}

interface Taps {
  index0: Int32Array;
  index1: Int32Array;
  weight: Float64Array;
}

/**
 * Source taps per destination index for half-pixel-centre bilinear sampling with edge clamping,
 * pre-multiplied by `stride` (elements per source step) so the inner loop only adds; for the
 * `count` destination indices from `first` (default: all of them).
 */
function samplingTaps(
  sourceSize: number,
  destinationSize: number,
  stride: number,
  first = 0,
  count = destinationSize - first,
): Taps {
  const index0 = new Int32Array(count);
  const index1 = new Int32Array(count);
  const weight = new Float64Array(count);
  const scale = sourceSize / destinationSize;
  for (let k = 0; k < count; k++) {
    const d = first + k;
    const position = (d + 0.5) * scale - 0.5;
    let i = Math.floor(position);
    let w = position - i;
    if (i < 0) {
      i = 0;
      w = 0;
    }
    if (i >= sourceSize - 1) {
      i = sourceSize - 1;
      w = 0;
    }
    index0[k] = i * stride;
    index1[k] = Math.min(i + 1, sourceSize - 1) * stride;
    weight[k] = w;
  }
  return { index0, index1, weight };
}
