import { v5 as uuidv5 } from 'uuid';
import { DicomError, type DicomRefusal, readDicom } from '../../inference/dicom/index.js';
import type { DicomHeader, PixelSpacingMm } from '../../schemas/events/index.js';
import { HttpProblem } from '../http/problem.js';

export interface ValidatedDicom {
  readonly mediaType: 'application/dicom';
  readonly width: number;
  readonly height: number;
  readonly bitDepth: 8 | 16;
  readonly channels: 1;
  readonly dicom: DicomHeader;
  readonly pixelSpacingMm: PixelSpacingMm | null;
}

const PROBLEM: Record<DicomRefusal, { status: 415 | 422; slug: string; title: string }> = {
  'not-dicom': { status: 422, slug: 'corrupt-image', title: 'Not a DICOM Part 10 file' },
  corrupt: { status: 422, slug: 'corrupt-image', title: 'Corrupt DICOM file' },
  'too-large': { status: 422, slug: 'image-too-large', title: 'Image too large' },
  'unsupported-transfer-syntax': {
    status: 415,
    slug: 'unsupported-transfer-syntax',
    title: 'Unsupported DICOM transfer syntax',
  },
  'unsupported-pixel-format': { status: 415, slug: 'unsupported-sample-format', title: 'Unsupported sample format' },
  'multi-frame': { status: 415, slug: 'multi-frame-dicom', title: 'Multi-frame DICOM is not supported' },
  'not-an-image': { status: 415, slug: 'not-an-image', title: 'The DICOM object holds no image' },
};

/**
 * A DICOM upload is read in full, as inference will read it: header limits first (pixel count
 * before any pixel is touched), then the pixel data, so every refusal happens here, before an event.
 */
export function validateDicom(bytes: Buffer, maxPixels: number): ValidatedDicom {
  try {
    const image = readDicom(bytes, { maxPixels });
    return {
      mediaType: 'application/dicom',
      width: image.width,
      height: image.height,
      bitDepth: image.bitDepth,
      channels: 1,
      dicom: image.header,
      pixelSpacingMm: image.pixelSpacingMm,
    };
  } catch (error) {
    if (!(error instanceof DicomError)) throw error;
    const problem = PROBLEM[error.refusal];
    throw new HttpProblem({ ...problem, detail: error.message, extensions: { reason: error.refusal } });
  }
}

/** Chitti's UUID v5 namespace for DICOM instances (a name space, not a secret). */
const DICOM_INSTANCE_NAMESPACE = 'a3f4c1e2-5b6d-4e7f-8a9b-0c1d2e3f4a5b';

/**
 * A DICOM file's id is a UUID v5 of its SOP Instance UID, so the same instance uploaded twice lands
 * on the same file stream: the decider answers a repeat with the same bytes with nothing and one
 * with other bytes with a conflict, consistently even for concurrent uploads.
 */
export const fileIdOfDicomInstance = (sopInstanceUid: string): string =>
  uuidv5(sopInstanceUid, DICOM_INSTANCE_NAMESPACE);
