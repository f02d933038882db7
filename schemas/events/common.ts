import { z } from 'zod';

export const Id = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits, _ . : - only');
export const Sha256 = z.string().regex(/^[a-f0-9]{64}$/, 'lower-case hex sha256');
export const Actor = z.string().min(1).max(200);
export const Role = z.enum(['admin', 'operator', 'reviewer', 'ml-engineer', 'auditor', 'viewer']);
export type Role = z.infer<typeof Role>;
export const Tag = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\p{L}\p{N} _.:/-]+$/u, 'tag has forbidden characters');
export const ModelName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and - only');
export const ModelVersion = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, . _ - only');
export const Percent = z.number().min(0).max(100);
/** Traffic split of a model name: version -> percent of requests; the percents sum to 100. */
export const TrafficWeights = z.record(ModelVersion, Percent);
export const Thresholds = z.object({
  confidence: z.number().min(0).max(1),
  iou: z.number().min(0).max(1),
  maxDetections: z.number().int().min(1).max(1000),
});
export type Thresholds = z.infer<typeof Thresholds>;
export const DEFAULT_THRESHOLDS: Thresholds = { confidence: 0.25, iou: 0.7, maxDetections: 300 };
/**
 * How a model version inspects images larger than its input: overlapping tiles of the input size
 * at a set resolution. Recorded at registration (ModelRegistered v2), so each version keeps the
 * resolution it was trained for.
 */
export const Tiling = z.object({
  /** Overlap of neighbouring tiles in model-input pixels: a defect this small is whole in some tile. */
  overlapPx: z.number().int().min(0).max(4096),
  /** Target mm per model-input pixel when the image's pixel spacing is known; null: native resolution. */
  mmPerInputPixel: z.number().positive().max(100).nullable(),
  /**
   * An image that letterboxing would shrink at most this much (relative to the tiling scale) goes
   * to the model whole, letterboxed as in training; larger ones are tiled. 1: tile anything larger than a tile.
   */
  maxLetterboxShrink: z.number().min(1).max(1000),
});
export type Tiling = z.infer<typeof Tiling>;
/** The tiling an inference used (DetectionsRecorded v2); null there means one letterboxed input. */
export const TilingUsed = z.object({
  tileSize: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }),
  overlapPx: z.number().int().min(0),
  /** Model-input pixels per image pixel. */
  scale: z.number().positive(),
  grid: z.object({ columns: z.number().int().positive(), rows: z.number().int().positive() }),
  tiles: z.number().int().positive(),
});
export type TilingUsed = z.infer<typeof TilingUsed>;
export const ModelRef = z.object({
  name: ModelName,
  version: ModelVersion,
  /** null only for inspections recorded before model hashes were captured (v1 events). */
  sha256: Sha256.nullable(),
});
export type ModelRef = z.infer<typeof ModelRef>;
export const Box = z.object({ x1: z.number(), y1: z.number(), x2: z.number(), y2: z.number() });
export type Box = z.infer<typeof Box>;
