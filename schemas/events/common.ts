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
/**
 * Thresholds as events recorded them before per-class confidences (ModelRegistered v1-v2,
 * ModelDeployed v1, InspectionRequested v2, DetectionsRecorded v1-v2). Frozen: those versions are
 * published with this shape.
 */
export const ThresholdsV1 = z.object({
  confidence: z.number().min(0).max(1),
  iou: z.number().min(0).max(1),
  maxDetections: z.number().int().min(1).max(1000),
});
export type ThresholdsV1 = z.infer<typeof ThresholdsV1>;
/** Most classes a per-class confidence map may name. */
export const MAX_CLASS_CONFIDENCES = 64;
/**
 * A class name as a key of a per-class confidence map: one of the model's class names (the ONNX
 * metadata `names`, ModelRegistered.classes); the decider refuses names the model does not have.
 * Any printable text, since models name their classes as they like (`lack of fusion (root)`); no
 * control characters or lone surrogates. (A `__proto__` key never reaches a map: zod leaves it out
 * of every record it parses.)
 */
export const ClassName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[^\p{Cc}\p{Cs}]+$/u, 'class name has control characters');
/** Per-class confidence: class name -> the score a detection of that class must exceed. */
export const ClassConfidence = z
  .record(ClassName, z.number().min(0).max(1))
  .refine((map) => Object.keys(map).length <= MAX_CLASS_CONFIDENCES, {
    message: `at most ${MAX_CLASS_CONFIDENCES} classes`,
  })
  .meta({ maxProperties: MAX_CLASS_CONFIDENCES });
export type ClassConfidence = z.infer<typeof ClassConfidence>;
/**
 * The post-processing a model version runs with. A detection is kept when its score exceeds its
 * class's entry in `classConfidence`, or `confidence` for a class without one (issue 9: one global
 * confidence could not push false positives on defect-free radiographs below the goal without
 * losing cracks). `{}`: every class at `confidence`, as before per-class thresholds existed.
 */
export const Thresholds = ThresholdsV1.extend({
  /** Written as `{}` when a producer leaves it out (it predates per-class thresholds). */
  classConfidence: ClassConfidence.default({}),
});
export type Thresholds = z.infer<typeof Thresholds>;
/** Thresholds as a caller may give them to inference: no `classConfidence` is every class at `confidence`. */
export type ThresholdsInput = z.input<typeof Thresholds>;
/**
 * Overrides of a version's thresholds (registration, deployment, one inspection request): each
 * field given replaces the base's; `classConfidence`, when given, replaces the base's whole map
 * (domain/model/thresholds.ts says why). No defaults: an absent field keeps the base's.
 */
export const ThresholdsOverride = ThresholdsV1.extend({ classConfidence: ClassConfidence }).partial();
export type ThresholdsOverride = z.infer<typeof ThresholdsOverride>;
export const DEFAULT_THRESHOLDS: Thresholds = { confidence: 0.25, iou: 0.7, maxDetections: 300, classConfidence: {} };
/** Thresholds recorded before per-class confidences, read as the current shape: no class overrides. */
export const upcastThresholds = (old: ThresholdsV1): Thresholds => ({ ...old, classConfidence: {} });
/** The confidence a detection of `className` must exceed. */
export const classThreshold = (thresholds: ThresholdsInput, className: string): number => {
  const own = thresholds.classConfidence;
  return own && Object.hasOwn(own, className) ? own[className]! : thresholds.confidence;
};
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
