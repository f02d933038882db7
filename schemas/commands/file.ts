import { z } from 'zod';
import { Id, Sha256, Tag } from '../events/common.js';
import { DicomHeader, MediaType, PixelSpacingMm } from '../events/file.js';

const Tags = z.array(Tag).max(50);

/** Facts about an accepted upload, measured by the server from the bytes (never trusted from a client). */
export const UploadFile = z.object({
  fileId: Id,
  sha256: Sha256,
  sizeBytes: z.number().int().positive(),
  mediaType: MediaType,
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  bitDepth: z.union([z.literal(8), z.literal(16)]),
  channels: z.number().int().min(1).max(4),
  /** The client's file name as sent; the decider sanitises it and never uses it as a path. */
  originalName: z.string().max(4096),
  tags: Tags.default([]),
  pixelSpacingMm: PixelSpacingMm.optional(),
  dicom: DicomHeader.optional(),
});
export type UploadFile = z.infer<typeof UploadFile>;

export const TagFile = z
  .object({
    fileId: Id,
    add: Tags.default([]),
    remove: Tags.default([]),
  })
  .refine((c) => c.add.length + c.remove.length > 0, { message: 'add or remove at least one tag' });
export type TagFile = z.infer<typeof TagFile>;

export const DeleteFile = z.object({
  fileId: Id,
  reason: z.string().min(1).max(500),
});
export type DeleteFile = z.infer<typeof DeleteFile>;
