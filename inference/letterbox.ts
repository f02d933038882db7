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

/** Resamples into `out`, mapping each rounded 8-bit value through `table` (identity or /255). */
function resampleInto(
  pixels: Uint8Array,
  channels: 1 | 3,
  geometry: LetterboxGeometry,
  out: Float32Array,
  table: Float32Array,
): void {
  const { source, target, resized, pad } = geometry;
  const plane = target.width * target.height;
  if (pixels.length !== source.width * source.height * channels) {
    throw new RangeError(`expected ${source.width}×${source.height}×${channels} pixels, got ${pixels.length}`);
  }
  if (out.length !== 3 * plane) throw new RangeError(`output must hold ${3 * plane} values`);
  out.fill(table[LETTERBOX_FILL]!);
  const xs = samplingTaps(source.width, resized.width, channels);
  const ys = samplingTaps(source.height, resized.height, source.width * channels);
  const { index0: x0s, index1: x1s, weight: wxs } = xs;
  const width = resized.width;
  for (let y = 0; y < resized.height; y++) {
    const r0 = ys.index0[y]!;
    const r1 = ys.index1[y]!;
    const wy = ys.weight[y]!;
    const o = (y + pad.top) * target.width + pad.left;
    for (let c = 0; c < channels; c++) {
      const planeOffset = c * plane + o;
      for (let x = 0; x < width; x++) {
        const x0 = x0s[x]! + c;
        const x1 = x1s[x]! + c;
        const wx = wxs[x]!;
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
 * pre-multiplied by `stride` (elements per source step) so the inner loop only adds.
 */
function samplingTaps(sourceSize: number, destinationSize: number, stride: number): Taps {
  const index0 = new Int32Array(destinationSize);
  const index1 = new Int32Array(destinationSize);
  const weight = new Float64Array(destinationSize);
  const scale = sourceSize / destinationSize;
  for (let d = 0; d < destinationSize; d++) {
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
    index0[d] = i * stride;
    index1[d] = Math.min(i + 1, sourceSize - 1) * stride;
    weight[d] = w;
  }
  return { index0, index1, weight };
}
