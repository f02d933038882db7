import { z } from 'zod';
import {
  Actor,
  Box,
  Id,
  ModelRef,
  Sha256,
  Thresholds,
  ThresholdsV1,
  TilingUsed,
  TrafficWeights,
  upcastThresholds,
} from './common.js';
import { defineEvent } from './define.js';
import { PixelSpacingMm } from './file.js';

/** Why this model version served the request, so history can be replayed exactly. */
export const ModelSelection = z.object({
  reason: z.enum(['explicit', 'traffic-split', 'only-version']),
  /** The uniform draw in [0,1) used against the weights (traffic-split only). */
  roll: z.number().min(0).max(1).nullable(),
  /** The traffic split in force when the version was chosen. */
  weights: TrafficWeights,
});
export type ModelSelection = z.infer<typeof ModelSelection>;

const InspectionRequestedV1 = z.object({
  inspectionId: Id,
  fileId: Id,
  modelName: z.string(),
  modelVersion: z.string(),
  requestedBy: Actor,
});

const inspectionRequestedFields = {
  inspectionId: Id,
  fileId: Id,
  fileSha256: Sha256.nullable(),
  model: ModelRef,
  selection: ModelSelection,
  /** Shadow models run on the same image; their detections never decide the outcome. */
  shadows: z.array(ModelRef).max(5),
  /** The thresholds the live model and the shadows run with, per-class confidences included. */
  thresholds: Thresholds,
  requestedBy: Actor,
};
const InspectionRequestedV2 = z.object({ ...inspectionRequestedFields, thresholds: ThresholdsV1 });

export const InspectionRequested = defineEvent({
  type: 'InspectionRequested',
  /** v2: model refs with hashes, selection, shadows and thresholds. v3: `thresholds.classConfidence` (issue 9). */
  version: 3,
  description:
    'An inspection of a file was requested; records the model version chosen, why, the shadows and the thresholds.',
  schema: z.object(inspectionRequestedFields),
  upcasters: {
    // v1 named the model by two strings and recorded neither hashes nor thresholds.
    1: (v1) => {
      const old = InspectionRequestedV1.parse(v1);
      return {
        inspectionId: old.inspectionId,
        fileId: old.fileId,
        fileSha256: null,
        model: { name: old.modelName, version: old.modelVersion, sha256: null },
        selection: { reason: 'explicit', roll: null, weights: { [old.modelVersion]: 100 } },
        shadows: [],
        thresholds: { confidence: 0.25, iou: 0.7, maxDetections: 300 },
        requestedBy: old.requestedBy,
      };
    },
    // v2 ran every class at one confidence: no per-class entries.
    2: (v2) => {
      const old = InspectionRequestedV2.parse(v2);
      return { ...old, thresholds: upcastThresholds(old.thresholds) };
    },
  },
});
export { InspectionRequestedV1, InspectionRequestedV2 };

export const InferenceStarted = defineEvent({
  type: 'InferenceStarted',
  description: 'A processor picked the request up.',
  schema: z.object({
    inspectionId: Id,
    attempt: z.number().int().min(1),
    worker: z.string().min(1).max(200),
  }),
});

export const Detection = z.object({
  /** Stable within the inspection and role: d0, d1, ... in descending score order. */
  detectionId: z.string().regex(/^d\d+$/),
  classId: z.number().int().min(0),
  className: z.string().min(1).max(100),
  score: z.number().min(0).max(1),
  /** Original-image pixels. */
  box: Box,
  /**
   * The box in millimetres, present only when the file's pixel spacing is known. `lengthMm` is the
   * longer box side (for cracks and lack of fusion: the length along the indication, taken as the
   * box's longer side), `widthMm` the shorter one, `areaMm2` the box's area.
   */
  size: z.object({ lengthMm: z.number().min(0), widthMm: z.number().min(0), areaMm2: z.number().min(0) }).optional(),
});
export type Detection = z.infer<typeof Detection>;

const DetectionsRecordedV1Detection = Detection.omit({ size: true });

const detectionsRecordedFields = {
  inspectionId: Id,
  role: z.enum(['live', 'shadow']),
  model: ModelRef,
  detections: z.array(Detection).max(1000),
  image: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }),
  /**
   * Window applied to >8-bit images before the model, in source units (DICOM: after rescale), mapped
   * to black..white; else null. For inverted DICOM (MONOCHROME1 / INVERSE) low > high.
   */
  window: z.object({ low: z.number(), high: z.number() }).nullable(),
  thresholds: Thresholds,
  timings: z.object({
    queueMs: z.number().min(0),
    preprocessMs: z.number().min(0),
    inferenceMs: z.number().min(0),
    postprocessMs: z.number().min(0),
  }),
  batchSize: z.number().int().min(1),
  /** True when the result was reused from the prediction cache (same blob + same model sha256). */
  cached: z.boolean(),
};
const DetectionsRecordedV1 = z.object({
  ...detectionsRecordedFields,
  detections: z.array(DetectionsRecordedV1Detection).max(1000),
  thresholds: ThresholdsV1,
});
const DetectionsRecordedV2 = z.object({
  ...detectionsRecordedFields,
  thresholds: ThresholdsV1,
  /** The file's pixel spacing the sizes were computed with; absent (and no sizes) when unknown. */
  pixelSpacingMm: PixelSpacingMm.optional(),
  /**
   * The tiles the image was inspected in (tile size, overlap, scale, grid, count); null (or
   * absent, for producers that predate tiling): the whole image letterboxed into one model input.
   * For tiled runs, timings are summed over the tiles and batchSize is the largest batch a tile
   * ran in. Chitti's processor always records it.
   */
  tiling: TilingUsed.nullable().optional(),
});

export const DetectionsRecorded = defineEvent({
  type: 'DetectionsRecorded',
  /** v2: sizes in mm, pixel spacing and tiling. v3: `thresholds.classConfidence` (issue 9). */
  version: 3,
  description:
    'A model ran on the inspection image. role=live decides the inspection; role=shadow only records for comparison. Boxes carry their size in mm when the pixel spacing is known. thresholds are the ones the detections were filtered with, per-class confidences included.',
  schema: DetectionsRecordedV2.extend({ thresholds: Thresholds }),
  upcasters: {
    // v1 recorded no pixel spacing and no sizes (both stay absent, read as unknown) and always
    // letterboxed the whole image.
    1: (v1) => ({ ...DetectionsRecordedV1.parse(v1), tiling: null }),
    // v2 filtered every class at one confidence: no per-class entries.
    2: (v2) => {
      const old = DetectionsRecordedV2.parse(v2);
      return { ...old, thresholds: upcastThresholds(old.thresholds) };
    },
  },
});
export { DetectionsRecordedV1, DetectionsRecordedV2 };

export const FailureCode = z.enum([
  'corrupt-image',
  'decompression-bomb',
  'unsupported-media',
  'blob-missing',
  'model-unavailable',
  'model-error',
  'timeout',
  'internal',
]);

export const InspectionFailed = defineEvent({
  type: 'InspectionFailed',
  description: 'An attempt failed. final=true ends the inspection (retries exhausted or not retryable).',
  schema: z.object({
    inspectionId: Id,
    code: FailureCode,
    reason: z.string().min(1).max(2000),
    attempt: z.number().int().min(1),
    final: z.boolean(),
  }),
});

export const ShadowInferenceFailed = defineEvent({
  type: 'ShadowInferenceFailed',
  description:
    'A shadow model could not produce detections for the inspection; the live result is unaffected and the shadow is not retried.',
  schema: z.object({
    inspectionId: Id,
    /** The shadow as the inspection request named it. */
    model: ModelRef,
    code: FailureCode,
    reason: z.string().min(1).max(2000),
  }),
});

export const DetectionReviewed = defineEvent({
  type: 'DetectionReviewed',
  description: 'A human confirmed, rejected or relabelled one live detection.',
  schema: z.object({
    inspectionId: Id,
    detectionId: z.string().regex(/^d\d+$/),
    verdict: z.enum(['confirmed', 'rejected', 'relabelled']),
    /** Required when verdict = relabelled. */
    newClassName: z.string().min(1).max(100).nullable(),
    comment: z.string().max(2000).nullable(),
    reviewer: Actor,
  }),
});

export const InspectionClosed = defineEvent({
  type: 'InspectionClosed',
  description: 'The inspection is final; nothing more may be recorded on it.',
  schema: z.object({
    inspectionId: Id,
    outcome: z.enum(['accepted', 'rejected', 'inconclusive']),
    note: z.string().max(2000).nullable(),
    closedBy: Actor,
  }),
});

/** What was measured on one detection; mm values are null when the pixel spacing is unknown (never guessed). */
export const DetectionMeasurement = z.object({
  widthPx: z.number().min(0),
  heightPx: z.number().min(0),
  /** Larger box side (a pore's diameter). */
  sizeMm: z.number().min(0).nullable(),
  /** Box diagonal: an upper bound of a straight linear indication's length. */
  lengthMm: z.number().min(0).nullable(),
  /** Ellipse inscribed in the box, as a percentage of the image area. */
  areaPercent: z.number().min(0),
});
export type DetectionMeasurement = z.infer<typeof DetectionMeasurement>;

export const RuleOutcome = z.object({
  ruleId: z.string().min(1).max(64),
  kind: z.string().min(1).max(32),
  classes: z.array(z.string().min(1).max(100)),
  description: z.string().max(500),
  outcome: z.enum(['pass', 'fail', 'indeterminate']),
  /** The value compared with the limit; null when it could not be measured. */
  measured: z.number().nullable(),
  limit: z.number(),
  unit: z.enum(['count', 'mm', 'mm-per-length', 'percent']),
  /** The detections the rule looked at (after reviews). */
  detectionIds: z.array(z.string().regex(/^d\d+$/)),
  /** The detection that set `measured` (largest, longest), when one did. */
  worst: z
    .string()
    .regex(/^d\d+$/)
    .nullable(),
});
export type RuleOutcome = z.infer<typeof RuleOutcome>;

export const InspectionEvaluated = defineEvent({
  type: 'InspectionEvaluated',
  description:
    'The live detections, as reviewed, were judged against one revision of an acceptance profile. A later revision never changes it; re-evaluation is a new event.',
  schema: z.object({
    inspectionId: Id,
    profile: z.object({ profileId: Id, name: z.string().min(1).max(100), revision: z.number().int().min(1) }),
    /** reject when a rule failed; else indeterminate when a rule needed mm and the pixel spacing is unknown; else accept. */
    verdict: z.enum(['accept', 'reject', 'indeterminate']),
    pixelSpacingMm: PixelSpacingMm.nullable(),
    image: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }),
    /** The detections the verdict used: live ones not rejected by a reviewer, with the class a relabel gave them. */
    detections: z
      .array(
        z.object({
          detectionId: z.string().regex(/^d\d+$/),
          className: z.string().min(1).max(100),
          review: z.enum(['unreviewed', 'confirmed', 'relabelled']),
          measurement: DetectionMeasurement,
        }),
      )
      .max(1000),
    /** Live detections left out because a reviewer rejected them. */
    excluded: z.array(z.string().regex(/^d\d+$/)).max(1000),
    rules: z.array(RuleOutcome).max(50),
    evaluatedBy: Actor,
  }),
});

export const ReportFormat = z.enum(['pdf', 'html', 'csv', 'json']);
export type ReportFormat = z.infer<typeof ReportFormat>;

export const ReportIssued = defineEvent({
  type: 'ReportIssued',
  description:
    'A report of the inspection was handed out: the sha256 of its exact bytes, who asked, as of when, and the stream history it was made from.',
  schema: z.object({
    inspectionId: Id,
    reportSha256: Sha256,
    sizeBytes: z.number().int().positive(),
    format: ReportFormat,
    /** The `asOf` asked for (ISO time or `position=N`), null for the report as of its issue. */
    asOf: z.string().max(64).nullable(),
    /** Whether shadow detections were drawn and listed. */
    shadow: z.boolean(),
    /** The last inspection event the report shows (issuance events are not part of a report). */
    covers: z.object({
      streamVersion: z.number().int().min(1),
      globalPosition: z.number().int().min(1),
      eventHash: Sha256,
    }),
    issuedBy: Actor,
  }),
});
