import sharp, { type Metadata } from 'sharp';
import { isDicomWithoutPrefix, sniffDicom } from '../../inference/dicom/index.js';
import type { DicomHeader, MediaType, PixelSpacingMm } from '../../schemas/events/index.js';
import { HttpProblem } from '../http/problem.js';
import { sniffImageType } from './sniff.js';
import { validateDicom } from './validate-dicom.js';

export interface ValidatedImage {
  readonly mediaType: MediaType;
  readonly width: number;
  readonly height: number;
  readonly bitDepth: 8 | 16;
  readonly channels: number;
  /** DICOM only: the allow-listed header and the spacing it gives (null when none). */
  readonly dicom?: DicomHeader;
  readonly pixelSpacingMm?: PixelSpacingMm | null;
}

const rejected = (status: 413 | 415 | 422, slug: string, title: string, detail: string) =>
  new HttpProblem({ status, slug, title, detail });

const FORMAT_OF: Record<Exclude<MediaType, 'application/dicom'>, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/webp': 'webp',
  'image/tiff': 'tiff',
};

/** A declared image or DICOM type must be what the bytes are; octet-stream says nothing. */
const declaresType = (declared: string | undefined): declared is string =>
  declared !== undefined && (declared.startsWith('image/') || declared === 'application/dicom');

/**
 * Accepts only what the bytes prove: the type by magic number (a declared image type must agree),
 * the dimensions from the decoded header under a pixel limit (decompression bombs), and a full
 * decode through a thumbnail so truncated or corrupt files are refused now, not at inference.
 */
export async function validateImage(
  bytes: Buffer,
  options: { declaredType: string | undefined; maxPixels: number },
): Promise<ValidatedImage> {
  // "DICM" first: a DICOM preamble may itself hold a TIFF header (dual-personality files).
  const mediaType = sniffDicom(bytes)
    ? 'application/dicom'
    : (sniffImageType(bytes) ?? (isDicomWithoutPrefix(bytes) ? 'application/dicom' : undefined));
  if (!mediaType) {
    throw rejected(
      415,
      'not-an-image',
      'Not a supported image',
      `the content is not a PNG, JPEG, WebP, TIFF or DICOM image${options.declaredType ? ` (declared ${options.declaredType})` : ''}`,
    );
  }
  if (declaresType(options.declaredType) && options.declaredType !== mediaType) {
    throw rejected(
      422,
      'media-type-mismatch',
      'Content does not match its declared type',
      `declared ${options.declaredType} but the content is ${mediaType}`,
    );
  }
  if (mediaType === 'application/dicom') return validateDicom(bytes, options.maxPixels);
  let metadata: Metadata;
  try {
    metadata = await sharp(bytes, { limitInputPixels: options.maxPixels }).metadata();
  } catch (error) {
    if (error instanceof Error && /pixel limit/i.test(error.message)) throw tooManyPixels(options.maxPixels);
    throw rejected(422, 'corrupt-image', 'Corrupt image', `the ${mediaType} header cannot be read`);
  }
  const { width, height, channels, depth, format } = metadata;
  if (!width || !height || !channels) {
    throw rejected(422, 'corrupt-image', 'Corrupt image', 'the image has no dimensions');
  }
  if (format !== FORMAT_OF[mediaType] && !(mediaType === 'image/jpeg' && format === 'jpeg')) {
    throw rejected(422, 'corrupt-image', 'Corrupt image', `the content decodes as ${format}, not ${mediaType}`);
  }
  if (width * height > options.maxPixels) throw tooManyPixels(options.maxPixels, width, height);
  const bitDepth = depth === 'uchar' || depth === 'char' ? 8 : depth === 'ushort' || depth === 'short' ? 16 : undefined;
  if (!bitDepth) {
    throw rejected(
      415,
      'unsupported-sample-format',
      'Unsupported sample format',
      `samples of type ${depth} are not supported (8 or 16 bit only)`,
    );
  }
  if (channels > 4) {
    throw rejected(415, 'unsupported-sample-format', 'Unsupported sample format', `${channels} channels (at most 4)`);
  }
  try {
    await sharp(bytes, { limitInputPixels: options.maxPixels, failOn: 'truncated', sequentialRead: true })
      .resize(64, 64, { fit: 'inside' })
      .raw()
      .toBuffer();
  } catch {
    throw rejected(422, 'corrupt-image', 'Corrupt image', `the ${mediaType} data is truncated or corrupt`);
  }
  return { mediaType, width, height, bitDepth, channels };
}

function tooManyPixels(maxPixels: number, width?: number, height?: number): HttpProblem {
  const size = width && height ? `${width}×${height} = ${width * height} pixels` : 'the image';
  return rejected(422, 'image-too-large', 'Image too large', `${size} exceeds the limit of ${maxPixels} pixels`);
}
