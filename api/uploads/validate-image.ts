import { isDicomWithoutPrefix, sniffDicom } from '../../inference/dicom/index.js';
import type { DicomHeader, MediaType, PixelSpacingMm } from '../../schemas/events/index.js';
import { HttpProblem } from '../http/problem.js';
import type { ImageValidator } from '../ports/image-validator.js';
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

/** A declared image or DICOM type must be what the bytes are; octet-stream says nothing. */
const declaresType = (declared: string | undefined): declared is string =>
  declared !== undefined && (declared.startsWith('image/') || declared === 'application/dicom');

/**
 * Accepts only what the bytes prove: the type by magic number (a declared image type must agree),
 * then, in the validator's worker threads, the dimensions from the header under the pixel limit
 * that inference applies too (decompression bombs), and a full decode that fails on decoder
 * errors, so truncated or corrupt files are refused now, before any event, not at inference.
 */
export async function validateImage(
  bytes: Buffer,
  options: { declaredType: string | undefined; maxPixels: number; validator: ImageValidator },
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
  const check = await options.validator.check(bytes, options.maxPixels);
  if (!check.ok) {
    if (check.code === 'too-many-pixels') {
      throw rejected(422, 'image-too-large', 'Image too large', `${check.reason}`);
    }
    throw rejected(
      422,
      'corrupt-image',
      'Corrupt image',
      `the ${mediaType} data is truncated or corrupt: ${check.reason}`,
    );
  }
  const { width, height, channels, sampleFormat } = check.image;
  const bitDepth =
    sampleFormat === 'uchar' || sampleFormat === 'char'
      ? 8
      : sampleFormat === 'ushort' || sampleFormat === 'short'
        ? 16
        : undefined;
  if (!bitDepth) {
    throw rejected(
      415,
      'unsupported-sample-format',
      'Unsupported sample format',
      `samples of type ${sampleFormat} are not supported (8 or 16 bit only)`,
    );
  }
  if (channels > 4) {
    throw rejected(415, 'unsupported-sample-format', 'Unsupported sample format', `${channels} channels (at most 4)`);
  }
  return { mediaType, width, height, bitDepth, channels };
}
