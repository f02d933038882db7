import { z } from 'zod';
import { Actor, Id, Sha256, Tag } from './common.js';
import { defineEvent } from './define.js';

export const MediaType = z.enum(['image/png', 'image/jpeg', 'image/webp', 'image/tiff', 'application/dicom']);
export type MediaType = z.infer<typeof MediaType>;

/** The smallest and largest pixel spacing accepted, in mm (detector pixels are 0.05–0.2 mm). */
export const PIXEL_SPACING_RANGE_MM = { min: 0.001, max: 10 } as const;
const SpacingMm = z.number().min(PIXEL_SPACING_RANGE_MM.min).max(PIXEL_SPACING_RANGE_MM.max);
/** Physical size of one pixel: `row` is the distance between rows (vertical), `column` between columns. */
export const PixelSpacingMm = z.object({ row: SpacingMm, column: SpacingMm });
export type PixelSpacingMm = z.infer<typeof PixelSpacingMm>;

const DicomUid = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[0-9]+(\.[0-9]+)*$/, 'a DICOM UID: digits and dots');
const HeaderText = z.string().min(1).max(200);

/**
 * The allow-listed DICOM header of an uploaded DICOM/DICONDE file. Never the whole header: no
 * personal names (operator, physicians), no private tags. `component` is DICONDE's component
 * identification (PatientID / PatientName), recorded only for files that carry DICONDE (group
 * 0014) attributes; in any other DICOM file the Patient module names a person and is dropped.
 */
export const DicomHeader = z.object({
  sopInstanceUid: DicomUid,
  sopClassUid: DicomUid,
  transferSyntaxUid: DicomUid,
  modality: HeaderText.nullable(),
  manufacturer: HeaderText.nullable(),
  manufacturerModelName: HeaderText.nullable(),
  /** Local date-time as the header gives it (no zone), ISO shaped, and which module it came from. */
  acquired: z
    .object({
      at: z.string().regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?$/),
      source: z.enum(['AcquisitionDateTime', 'AcquisitionDate', 'ContentDate', 'StudyDate']),
    })
    .nullable(),
  rows: z.number().int().positive(),
  columns: z.number().int().positive(),
  bitsAllocated: z.union([z.literal(8), z.literal(16)]),
  bitsStored: z.number().int().min(1).max(16),
  signed: z.boolean(),
  photometricInterpretation: z.enum(['MONOCHROME1', 'MONOCHROME2']),
  presentationLutShape: z.enum(['IDENTITY', 'INVERSE']).nullable(),
  rescale: z.object({ slope: z.number(), intercept: z.number() }),
  /** The header's WindowCenter/Width and whether inference uses it (else a percentile window). */
  voiWindow: z.object({ center: z.number(), width: z.number(), used: z.boolean() }).nullable(),
  /** Where `pixelSpacingMm` came from; null when the header gives no usable spacing. */
  pixelSpacingTag: z.enum(['PixelSpacing', 'ImagerPixelSpacing']).nullable(),
  component: z.object({ id: HeaderText.nullable(), name: HeaderText.nullable() }).nullable(),
});
export type DicomHeader = z.infer<typeof DicomHeader>;

const FileUploadedV1 = z.object({
  fileId: Id,
  sha256: Sha256,
  sizeBytes: z.number().int().positive(),
  mediaType: z.enum(['image/png', 'image/jpeg', 'image/webp', 'image/tiff']),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  bitDepth: z.union([z.literal(8), z.literal(16)]),
  channels: z.number().int().min(1).max(4),
  originalName: z.string().min(1).max(255),
  uploadedBy: Actor,
  tags: z.array(Tag).max(50),
});

export const FileUploaded = defineEvent({
  type: 'FileUploaded',
  version: 2,
  description:
    'An image was accepted and stored in the content-addressed blob store; with its pixel spacing and, for DICOM, an allow-listed header.',
  schema: z.object({
    fileId: Id,
    sha256: Sha256,
    sizeBytes: z.number().int().positive(),
    mediaType: MediaType,
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    /** bits per channel sample as decoded: 8 or 16 (16-bit greyscale radiographs). */
    bitDepth: z.union([z.literal(8), z.literal(16)]),
    channels: z.number().int().min(1).max(4),
    /** The client's file name, sanitised; never used as a path. */
    originalName: z.string().min(1).max(255),
    uploadedBy: Actor,
    tags: z.array(Tag).max(50),
    /** From the DICOM header, or given at upload for other formats; absent when unknown (never guessed). */
    pixelSpacingMm: PixelSpacingMm.optional(),
    /** Allow-listed DICOM header; absent for PNG, JPEG, WebP and TIFF. */
    dicom: DicomHeader.optional(),
  }),
  upcasters: {
    // v1 knew no DICOM and no pixel spacing: both stay absent, which v2 reads as unknown.
    1: (v1) => FileUploadedV1.parse(v1),
  },
});
export { FileUploadedV1 };

export const FileTagged = defineEvent({
  type: 'FileTagged',
  description: 'Tags were added to and/or removed from a file.',
  schema: z.object({
    fileId: Id,
    added: z.array(Tag).max(50),
    removed: z.array(Tag).max(50),
    taggedBy: Actor,
  }),
});

export const FileDeleted = defineEvent({
  type: 'FileDeleted',
  description: 'Tombstone: the blob is erased, the history is kept.',
  schema: z.object({
    fileId: Id,
    sha256: Sha256,
    reason: z.string().min(1).max(500),
    deletedBy: Actor,
  }),
});
