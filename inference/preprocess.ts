import sharp, { type SharpOptions } from 'sharp';
import { DEFAULT_MAX_PIXELS } from '../schemas/limits.js';
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
  /** Refuse images with more pixels than this, from the header, before decoding (default MAX_IMAGE_PIXELS). */
  readonly maxPixels?: number;
  /** Percentiles for the window of >8-bit images (default [0.5, 99.5]). */
  readonly windowPercentiles?: readonly [number, number];
  /** Where the 8-bit output goes (e.g. a SharedArrayBuffer); default a fresh Uint8Array. */
  readonly allocate?: (length: number) => Uint8Array;
}

/** What the header says, read before any pixel is decoded. */
export interface ImageHeader {
  readonly mediaType: ImageMediaType;
  /** After EXIF orientation. */
  readonly width: number;
  readonly height: number;
  /** Colour channels after dropping alpha: what decoding yields. */
  readonly channels: 1 | 3;
  /** Channels in the file, alpha included. */
  readonly fileChannels: number;
  /** 8 for 8-bit samples; 16 for anything wider (decoded as 16-bit). */
  readonly bitDepth: 8 | 16;
  /** libvips' sample format (uchar, ushort, float, ...). */
  readonly sampleFormat: string;
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

const DEFAULT_WINDOW: readonly [number, number] = [0.5, 99.5];

const open = (bytes: Uint8Array, maxPixels: number, extra: SharpOptions = {}) =>
  sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error', autoOrient: true, ...extra });

/** The header of a PNG, JPEG, WebP or TIFF image under the pixel limit; nothing is decoded. */
export async function probeImage(bytes: Uint8Array, maxPixels = DEFAULT_MAX_PIXELS): Promise<ImageHeader> {
  if (bytes.length === 0) throw new ImageRejectedError('corrupt-image', 'the file is empty');
  if (sniffDicom(bytes)) return probeDicom(bytes, maxPixels);
  const mediaType = sniffMediaType(bytes);
  if (!mediaType) throw new ImageRejectedError('unsupported-media', 'not a PNG, JPEG, WebP or TIFF image');
  const metadata = await open(bytes, maxPixels)
    .metadata()
    .catch((error: unknown) => {
      throw rejection(error);
    });
  const { width, height } = metadata;
  if (!width || !height || !metadata.channels)
    throw new ImageRejectedError('corrupt-image', 'the image has no dimensions');
  if (width * height > maxPixels) {
    throw new ImageRejectedError(
      'decompression-bomb',
      `the image claims ${width}×${height} pixels, more than the limit of ${maxPixels}`,
    );
  }
  const colourChannels = metadata.channels - (metadata.hasAlpha ? 1 : 0);
  const depth = metadata.depth ?? 'uchar';
  return {
    mediaType,
    width,
    height,
    channels: colourChannels === 1 ? 1 : 3,
    fileChannels: metadata.channels,
    bitDepth: depth === 'uchar' || depth === 'char' ? 8 : 16,
    sampleFormat: depth,
  };
}

/**
 * Reads the whole file through a small thumbnail (streaming, so memory stays small whatever the
 * size), failing on decoder errors: a truncated or corrupt file is refused here, at upload, not
 * later at inspection. (`failOn: 'truncated'` lets a TIFF with short strips through; 'error' does not.)
 */
export async function verifyDecodes(bytes: Uint8Array, maxPixels = DEFAULT_MAX_PIXELS): Promise<void> {
  if (sniffDicom(bytes)) {
    readDicomImage(bytes, maxPixels);
    return;
  }
  try {
    await open(bytes, maxPixels, { sequentialRead: true }).resize(64, 64, { fit: 'inside' }).raw().toBuffer();
  } catch (error) {
    throw rejection(error);
  }
}

/** Decodes PNG, JPEG, WebP or TIFF (8- or 16-bit) to 8-bit grey or RGB, windowing >8-bit data by percentiles. */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodedImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (sniffDicom(bytes)) return decodeDicom(bytes, options);
  const header = await probeImage(bytes, maxPixels);
  const { mediaType } = header;
  const grey = header.channels === 1;
  const allocate = options.allocate ?? ((length: number) => new Uint8Array(length));
  try {
    if (header.bitDepth === 8) {
      const { data, info } = await open(bytes, maxPixels, { sequentialRead: true })
        .removeAlpha()
        .toColourspace(grey ? 'b-w' : 'srgb')
        .raw()
        .toBuffer({ resolveWithObject: true });
      const pixels = options.allocate
        ? allocate(data.length)
        : new Uint8Array(data.buffer, data.byteOffset, data.length);
      if (options.allocate) pixels.set(data);
      return {
        mediaType,
        width: info.width,
        height: info.height,
        pixels,
        channels: info.channels === 1 ? 1 : 3,
        bitDepth: 8,
        window: null,
      };
    }
    const { data, info } = await open(bytes, maxPixels, { sequentialRead: true })
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
      pixels: applyWindow(samples, window, allocate(samples.length)),
      channels: info.channels === 1 ? 1 : 3,
      bitDepth: 16,
      window,
    };
  } catch (error) {
    throw rejection(error);
  }
}

/** DICOM is read by `./dicom/` (uncompressed pixel data; refusals become image rejections). */
function readDicomImage(bytes: Uint8Array, maxPixels: number) {
  try {
    return readDicom(bytes, { maxPixels });
  } catch (error) {
    throw error instanceof DicomError ? new ImageRejectedError(error.failureCode, error.message) : error;
  }
}

/**
 * A DICOM file's header: reading it means reading its pixel data (uncompressed, so no decoder
 * runs; the samples are a view or one copy), which the pixel limit has bounded before that.
 */
function probeDicom(bytes: Uint8Array, maxPixels: number): ImageHeader {
  const dicom = readDicomImage(bytes, maxPixels);
  return {
    mediaType: 'application/dicom',
    width: dicom.width,
    height: dicom.height,
    channels: 1,
    fileChannels: 1,
    bitDepth: dicom.bitDepth,
    sampleFormat: dicom.bitDepth === 8 ? 'uchar' : 'ushort',
  };
}

/** DICOM's window (the header's, else percentiles) is recorded in output units. */
function decodeDicom(bytes: Uint8Array, options: DecodeOptions): DecodedImage {
  const dicom = readDicomImage(bytes, options.maxPixels ?? DEFAULT_MAX_PIXELS);
  const [lowPercentile, highPercentile] = options.windowPercentiles ?? DEFAULT_WINDOW;
  const window = dicom.window ?? percentileWindow(dicom.samples, lowPercentile, highPercentile);
  const allocate = options.allocate ?? ((length: number) => new Uint8Array(length));
  return {
    mediaType: 'application/dicom',
    width: dicom.width,
    height: dicom.height,
    pixels: applyWindow(dicom.samples, window, allocate(dicom.samples.length)),
    channels: 1,
    bitDepth: dicom.bitDepth,
    window: dicom.toOutputUnits(window),
  };
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
export function applyWindow(
  samples: Uint16Array,
  window: { low: number; high: number },
  out: Uint8Array = new Uint8Array(samples.length),
): Uint8Array {
  if (out.length !== samples.length) throw new RangeError(`the output must hold ${samples.length} values`);
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
