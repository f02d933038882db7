import sharp from 'sharp';
import { DicomError, readDicom, sniffDicom } from './dicom/index.js';
import { type LetterboxGeometry, letterboxGeometry, letterboxTensor } from './letterbox.js';

export type ImageRejectionCode = 'corrupt-image' | 'decompression-bomb' | 'unsupported-media';

/** The bytes cannot be used as an image; never retryable. `code` matches InspectionFailed codes. */
export class ImageRejectedError extends Error {
  constructor(
    readonly code: ImageRejectionCode,
    message: string,
  ) {
    super(message);
  }
}

export type ImageMediaType = 'image/png' | 'image/jpeg' | 'image/webp' | 'image/tiff' | 'application/dicom';

/** The media type by magic bytes; undefined for anything else (the file name is never trusted). */
export function sniffMediaType(bytes: Uint8Array): ImageMediaType | undefined {
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (
    starts(0x52, 0x49, 0x46, 0x46) &&
    bytes[8] === 0x57 &&
    bytes[9] === 0x45 &&
    bytes[10] === 0x42 &&
    bytes[11] === 0x50
  )
    return 'image/webp';
  if (starts(0x49, 0x49, 0x2a, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2a)) return 'image/tiff';
  return undefined;
}

export interface DecodeOptions {
  /** Refuse images with more pixels than this, from the header, before decoding (default 8192²). */
  readonly maxPixels?: number;
  /** Percentiles for the window of >8-bit images (default [0.5, 99.5]). */
  readonly windowPercentiles?: readonly [number, number];
}

export interface DecodedImage {
  readonly mediaType: ImageMediaType;
  /** After EXIF orientation. */
  readonly width: number;
  readonly height: number;
  /** Interleaved 8-bit pixels, 1 (grey) or 3 (RGB) channels. */
  readonly pixels: Uint8Array;
  readonly channels: 1 | 3;
  readonly bitDepth: 8 | 16;
  /** The window mapped to 0..255 for >8-bit images and DICOM, in source units (DICOM: after rescale); null for other 8-bit images. */
  readonly window: { readonly low: number; readonly high: number } | null;
}

export const DEFAULT_MAX_PIXELS = 8192 * 8192;
const DEFAULT_WINDOW: readonly [number, number] = [0.5, 99.5];

/** Decodes PNG, JPEG, WebP or TIFF (8- or 16-bit) to 8-bit grey or RGB, windowing >8-bit data by percentiles. */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodedImage> {
  if (bytes.length === 0) throw new ImageRejectedError('corrupt-image', 'the file is empty');
  if (sniffDicom(bytes)) return decodeDicom(bytes, options);
  const mediaType = sniffMediaType(bytes);
  if (!mediaType) throw new ImageRejectedError('unsupported-media', 'not a PNG, JPEG, WebP or TIFF image');
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const open = () => sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error', autoOrient: true });

  const metadata = await open()
    .metadata()
    .catch((error: unknown) => {
      throw rejection(error);
    });
  const pixelCount = metadata.width * metadata.height;
  if (pixelCount > maxPixels) {
    throw new ImageRejectedError(
      'decompression-bomb',
      `the image claims ${metadata.width}×${metadata.height} pixels, more than the limit of ${maxPixels}`,
    );
  }
  const colourChannels = metadata.channels - (metadata.hasAlpha ? 1 : 0);
  const grey = colourChannels === 1;
  const highBitDepth = metadata.depth !== undefined && metadata.depth !== 'uchar' && metadata.depth !== 'char';
  try {
    if (!highBitDepth) {
      const { data, info } = await open()
        .removeAlpha()
        .toColourspace(grey ? 'b-w' : 'srgb')
        .raw()
        .toBuffer({ resolveWithObject: true });
      return {
        mediaType,
        width: info.width,
        height: info.height,
        pixels: new Uint8Array(data.buffer, data.byteOffset, data.length),
        channels: info.channels === 1 ? 1 : 3,
        bitDepth: 8,
        window: null,
      };
    }
    const { data, info } = await open()
      .removeAlpha()
      .toColourspace(grey ? 'grey16' : 'rgb16')
      .raw({ depth: 'ushort' })
      .toBuffer({ resolveWithObject: true });
    const samples = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
    const [lowPercentile, highPercentile] = options.windowPercentiles ?? DEFAULT_WINDOW;
    const window = percentileWindow(samples, lowPercentile, highPercentile);
    return {
      mediaType,
      width: info.width,
      height: info.height,
      pixels: applyWindow(samples, window),
      channels: info.channels === 1 ? 1 : 3,
      bitDepth: 16,
      window,
    };
  } catch (error) {
    throw rejection(error);
  }
}

/** DICOM is read by `./dicom/`; its window (header's, else percentiles) is recorded in output units. */
function decodeDicom(bytes: Uint8Array, options: DecodeOptions): DecodedImage {
  try {
    const dicom = readDicom(bytes, { maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS });
    const [lowPercentile, highPercentile] = options.windowPercentiles ?? DEFAULT_WINDOW;
    const window = dicom.window ?? percentileWindow(dicom.samples, lowPercentile, highPercentile);
    return {
      mediaType: 'application/dicom',
      width: dicom.width,
      height: dicom.height,
      pixels: applyWindow(dicom.samples, window),
      channels: 1,
      bitDepth: dicom.bitDepth,
      window: dicom.toOutputUnits(window),
    };
  } catch (error) {
    throw error instanceof DicomError ? new ImageRejectedError(error.failureCode, error.message) : error;
  }
}

function rejection(error: unknown): ImageRejectedError {
  if (error instanceof ImageRejectedError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/pixel limit/i.test(message)) {
    return new ImageRejectedError('decompression-bomb', `the image exceeds the pixel limit (${message})`);
  }
  if (/unsupported image format/i.test(message)) return new ImageRejectedError('unsupported-media', message);
  return new ImageRejectedError('corrupt-image', `the image cannot be decoded: ${message}`);
}

/**
 * The [low, high] window holding the given percentiles of the samples (nearest rank), from an
 * exact histogram. A flat image gets a one-unit window.
 */
export function percentileWindow(
  samples: Uint16Array,
  lowPercentile: number,
  highPercentile: number,
): { low: number; high: number } {
  if (!(lowPercentile >= 0 && lowPercentile < highPercentile && highPercentile <= 100)) {
    throw new RangeError(
      `window percentiles must satisfy 0 <= low < high <= 100, got ${lowPercentile}, ${highPercentile}`,
    );
  }
  if (samples.length === 0) return { low: 0, high: 1 };
  const histogram = new Uint32Array(65536);
  for (let i = 0; i < samples.length; i++) histogram[samples[i]!]!++;
  const rank = (p: number) => Math.min(samples.length - 1, Math.floor((p / 100) * (samples.length - 1)));
  const valueAtRank = (r: number) => {
    let seen = 0;
    for (let v = 0; v < histogram.length; v++) {
      seen += histogram[v]!;
      if (seen > r) return v;
    }
    return 65535;
  };
  const low = valueAtRank(rank(lowPercentile));
  const high = valueAtRank(rank(highPercentile));
  return high > low ? { low, high } : { low, high: low + 1 };
}

/** Maps [low, high] linearly to 0..255, clamping outside. */
export function applyWindow(samples: Uint16Array, window: { low: number; high: number }): Uint8Array {
  const out = new Uint8Array(samples.length);
  const scale = 255 / (window.high - window.low);
  for (let i = 0; i < samples.length; i++) {
    const v = (samples[i]! - window.low) * scale;
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
  }
  return out;
}

export interface PreparedImage {
  readonly image: { readonly width: number; readonly height: number };
  readonly mediaType: ImageMediaType;
  readonly bitDepth: 8 | 16;
  readonly window: { readonly low: number; readonly high: number } | null;
  readonly geometry: LetterboxGeometry;
  /** The letterboxed model input for one image: float32 RGB planes (3 × H × W), /255. */
  readonly tensor: Float32Array;
}

/** Decode + window + letterbox to the model's input size. */
export async function prepareImage(
  bytes: Uint8Array,
  inputSize: { readonly width: number; readonly height: number },
  options: DecodeOptions = {},
): Promise<PreparedImage> {
  const decoded = await decodeImage(bytes, options);
  const geometry = letterboxGeometry(decoded.width, decoded.height, inputSize.width, inputSize.height);
  return {
    image: { width: decoded.width, height: decoded.height },
    mediaType: decoded.mediaType,
    bitDepth: decoded.bitDepth,
    window: decoded.window,
    geometry,
    tensor: letterboxTensor(decoded.pixels, decoded.channels, geometry),
  };
}
