import type { MediaType } from '../../schemas/events/index.js';
import { HttpProblem } from '../http/problem.js';
import type { ImageValidator } from '../ports/image-validator.js';
import { sniffImageType } from './sniff.js';

export interface ValidatedImage {
  readonly mediaType: MediaType;
  readonly width: number;
  readonly height: number;
  readonly bitDepth: 8 | 16;
  readonly channels: number;
}

const rejected = (status: 413 | 415 | 422, slug: string, title: string, detail: string) =>
  new HttpProblem({ status, slug, title, detail });

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
  const mediaType = sniffImageType(bytes);
  if (!mediaType) {
    throw rejected(
      415,
      'not-an-image',
      'Not a supported image',
      `the content is not a PNG, JPEG, WebP or TIFF image${options.declaredType ? ` (declared ${options.declaredType})` : ''}`,
    );
  }
  if (options.declaredType?.startsWith('image/') && options.declaredType !== mediaType) {
    throw rejected(
      422,
      'media-type-mismatch',
      'Content does not match its declared type',
      `declared ${options.declaredType} but the content is ${mediaType}`,
    );
  }
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
