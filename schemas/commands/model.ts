import { z } from 'zod';
import { ModelName, ModelVersion, Sha256, ThresholdsOverride, Tiling, TrafficWeights } from '../events/common.js';

/** A checked ONNX detector, stored by sha256, registered under name@version. */
export const RegisterModel = z.object({
  name: ModelName,
  version: ModelVersion,
  sha256: Sha256,
  sizeBytes: z.number().int().positive(),
  task: z.literal('detect').default('detect'),
  format: z.literal('onnx').default('onnx'),
  outputLayout: z.enum(['yolo', 'yolo-nms']),
  classes: z.array(z.string().min(1).max(100)).min(1).max(1000),
  inputSize: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }),
  metrics: z.record(z.string(), z.number()).default({}),
  description: z.string().max(2000).default(''),
  /**
   * Default thresholds of this version's deployments; unset fields take the global defaults. Set
   * once: registering the same bytes again changes nothing; a deployment's thresholds override them.
   */
  thresholds: ThresholdsOverride.optional(),
  /** Tiled inspection of large images (see Tiling); absent: every image letterboxed whole. */
  tiling: Tiling.nullable().optional(),
});
export type RegisterModel = z.infer<typeof RegisterModel>;

/**
 * Sends `percent` of the traffic to a version; the other live versions keep their proportions of
 * the rest. 100 (the default) replaces the whole split. Thresholds default to the version's last
 * deployment, else those it was registered with, else the global defaults.
 */
export const DeployModel = z.object({
  name: ModelName,
  version: ModelVersion,
  percent: z.number().gt(0).max(100).default(100),
  /** Defaults to percent < 100. */
  canary: z.boolean().optional(),
  thresholds: ThresholdsOverride.optional(),
});
export type DeployModel = z.infer<typeof DeployModel>;

/** The whole new split: version -> percent, at most two decimals, summing to exactly 100. */
export const ShiftTraffic = z.object({
  name: ModelName,
  weights: TrafficWeights,
  reason: z.string().max(500).optional(),
});
export type ShiftTraffic = z.infer<typeof ShiftTraffic>;

/** All traffic back to a previously deployed version. */
export const RollBackModel = z.object({
  name: ModelName,
  toVersion: ModelVersion,
  reason: z.string().min(1).max(500),
});
export type RollBackModel = z.infer<typeof RollBackModel>;

export const RetireModel = z.object({
  name: ModelName,
  version: ModelVersion,
  reason: z.string().max(500).optional(),
});
export type RetireModel = z.infer<typeof RetireModel>;

export const DeployShadow = z.object({ name: ModelName, version: ModelVersion });
export type DeployShadow = z.infer<typeof DeployShadow>;

export const StopShadow = z.object({ name: ModelName, version: ModelVersion });
export type StopShadow = z.infer<typeof StopShadow>;
