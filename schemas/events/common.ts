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
export const ModelRef = z.object({
  name: ModelName,
  version: ModelVersion,
  /** null only for inspections recorded before model hashes were captured (v1 events). */
  sha256: Sha256.nullable(),
});
export type ModelRef = z.infer<typeof ModelRef>;
export const Box = z.object({ x1: z.number(), y1: z.number(), x2: z.number(), y2: z.number() });
export type Box = z.infer<typeof Box>;
