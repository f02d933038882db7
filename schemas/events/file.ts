import { z } from 'zod';
import { Actor, Id, Sha256, Tag } from './common.js';
import { defineEvent } from './define.js';

export const MediaType = z.enum(['image/png', 'image/jpeg', 'image/webp', 'image/tiff']);
export type MediaType = z.infer<typeof MediaType>;

export const FileUploaded = defineEvent({
  type: 'FileUploaded',
  description: 'An image was accepted and stored in the content-addressed blob store.',
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
  }),
});

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
