import { z } from 'zod';
import {
  Actor,
  ModelName,
  ModelVersion,
  Sha256,
  Thresholds,
  ThresholdsV1,
  Tiling,
  TrafficWeights,
  upcastThresholds,
} from './common.js';
import { defineEvent } from './define.js';

const ModelRegisteredV1 = z.object({
  name: ModelName,
  version: ModelVersion,
  sha256: Sha256,
  sizeBytes: z.number().int().positive(),
  task: z.literal('detect'),
  format: z.literal('onnx'),
  /** yolo: [B, 4+nc, A] raw head; yolo-nms: [B, N, 6] exported with nms=True. */
  outputLayout: z.enum(['yolo', 'yolo-nms']),
  classes: z.array(z.string().min(1).max(100)).min(1).max(1000),
  inputSize: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }),
  metrics: z.record(z.string(), z.number()),
  description: z.string().max(2000),
  /**
   * The thresholds this version is deployed with when a deployment names none, typically
   * those its metrics were measured at. Absent: the global defaults.
   */
  thresholds: ThresholdsV1.optional(),
  registeredBy: Actor,
});

const ModelRegisteredV2 = ModelRegisteredV1.extend({
  /**
   * How this version inspects images larger than its input (overlapping tiles at a set
   * resolution); null (or absent): every image is letterboxed whole into one input. The model
   * decider always records it.
   */
  tiling: Tiling.nullable().optional(),
});

export const ModelRegistered = defineEvent({
  type: 'ModelRegistered',
  /**
   * v2 added `thresholds` and `tiling`. Released v1 had no thresholds, and the published topic
   * schemas reject unknown fields, so the fields need a version of their own. v3: the thresholds
   * carry `classConfidence` (per-class confidence, issue 9).
   */
  version: 3,
  description: 'A model version was checked (loadable ONNX detector) and stored by sha256.',
  schema: ModelRegisteredV2.extend({
    /**
     * The thresholds this version is deployed with when a deployment names none, typically
     * those its metrics were measured at. Absent: the global defaults. Every class named in
     * `thresholds.classConfidence` is one of `classes`.
     */
    thresholds: Thresholds.optional(),
  }),
  upcasters: {
    // v1 versions letterboxed every image whole. v1 as released had no thresholds (absent: the
    // global defaults, as in v2); v1 events recorded with thresholds before the bump keep them.
    1: (v1) => ({ ...ModelRegisteredV1.parse(v1), tiling: null }),
    // v2 thresholds had one confidence for every class: no per-class entries.
    2: (v2) => {
      const { thresholds, ...rest } = ModelRegisteredV2.parse(v2);
      return { ...rest, ...(thresholds ? { thresholds: upcastThresholds(thresholds) } : {}) };
    },
  },
});
export { ModelRegisteredV1, ModelRegisteredV2 };

const modelDeployedFields = {
  name: ModelName,
  version: ModelVersion,
  weights: TrafficWeights,
  canary: z.boolean(),
  thresholds: Thresholds,
  deployedBy: Actor,
};
const ModelDeployedV1 = z.object({ ...modelDeployedFields, thresholds: ThresholdsV1 });

export const ModelDeployed = defineEvent({
  type: 'ModelDeployed',
  /** v2: the thresholds carry `classConfidence` (per-class confidence, issue 9). */
  version: 2,
  description:
    'A registered version takes live traffic; weights is the whole split after the deployment (sums to 100). canary marks a small first share. thresholds are the whole set it serves with, per-class confidences included.',
  schema: z.object(modelDeployedFields),
  upcasters: {
    // v1 deployed one confidence for every class: no per-class entries.
    1: (v1) => {
      const old = ModelDeployedV1.parse(v1);
      return { ...old, thresholds: upcastThresholds(old.thresholds) };
    },
  },
});
export { ModelDeployedV1 };

export const TrafficShifted = defineEvent({
  type: 'TrafficShifted',
  description: 'The traffic split between live versions changed (sums to 100).',
  schema: z.object({
    name: ModelName,
    weights: TrafficWeights,
    reason: z.string().max(500).nullable(),
    shiftedBy: Actor,
  }),
});

export const ModelRolledBack = defineEvent({
  type: 'ModelRolledBack',
  description: 'All traffic returned from a version to a previously deployed one.',
  schema: z.object({
    name: ModelName,
    fromVersion: ModelVersion,
    toVersion: ModelVersion,
    weights: TrafficWeights,
    reason: z.string().min(1).max(500),
    rolledBackBy: Actor,
  }),
});

export const ShadowDeployed = defineEvent({
  type: 'ShadowDeployed',
  description: 'A registered version runs beside live traffic on the same requests without affecting results.',
  schema: z.object({ name: ModelName, version: ModelVersion, deployedBy: Actor }),
});

export const ShadowStopped = defineEvent({
  type: 'ShadowStopped',
  description: 'A shadow version stopped receiving requests.',
  schema: z.object({ name: ModelName, version: ModelVersion, stoppedBy: Actor }),
});

export const ModelRetired = defineEvent({
  type: 'ModelRetired',
  description: 'A version may never take traffic again (it must hold none when retired).',
  schema: z.object({
    name: ModelName,
    version: ModelVersion,
    reason: z.string().max(500).nullable(),
    retiredBy: Actor,
  }),
});
