import { classThreshold, type Detection, type ThresholdsInput } from '../schemas/events/index.js';
import type { LetterboxGeometry } from './letterbox.js';
import type { OutputLayout } from './model-store.js';
import { type Candidate, nonMaxSuppression } from './nms.js';

export interface OutputTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

export class OutputShapeError extends Error {
  readonly code = 'model-error';
}

export interface DecodeSpec {
  readonly layout: OutputLayout;
  readonly classes: readonly string[];
}

/**
 * The score each class must exceed: its `classConfidence` entry, else `confidence` (indexed by
 * class id), and the lowest of them, which skips the rows of an NMS export before their class id is read.
 */
export interface ClassThresholds {
  readonly byClass: Float64Array;
  readonly lowest: number;
}

export function classThresholds(classes: readonly string[], thresholds: ThresholdsInput): ClassThresholds {
  const byClass = Float64Array.from(classes, (name) => classThreshold(thresholds, name));
  return { byClass, lowest: byClass.length > 0 ? Math.min(...byClass) : thresholds.confidence };
}

/**
 * One image's detections from a detection head output: confidence filter (score > the class's
 * threshold, as Ultralytics compares with its one conf), class-wise NMS, at most maxDetections,
 * boxes mapped back to original image pixels (subtract the letterbox pad, divide by the ratio,
 * clip), ids d0, d1, ... by score. The per-class filter comes before NMS and the top-k: NMS is
 * class-wise, so filtering a class first removes exactly what filtering it after would, and a box
 * below its class's threshold must not take one of the maxDetections places.
 *
 * - 'yolo': [B, 4+nc, A] rows cx, cy, w, h (input pixels), then nc sigmoid class scores; each
 *   anchor proposes its best class, kept when that score exceeds that class's threshold.
 * - 'yolo-nms': [B, N, 6] rows x1, y1, x2, y2, score, class (zero-padded); NMS is applied again
 *   with the deployment's IoU, which can only remove boxes the export kept.
 */
export function decodeDetections(
  output: OutputTensor,
  imageIndex: number,
  spec: DecodeSpec,
  thresholds: ThresholdsInput,
  geometry: LetterboxGeometry,
): Detection[] {
  const candidates = detectionCandidates(output, imageIndex, spec, classThresholds(spec.classes, thresholds));
  const kept = nonMaxSuppression(candidates, thresholds.iou, thresholds.maxDetections);
  return toDetections(kept, spec, (c) => toOriginalPixels(c, geometry));
}

/** One image's boxes above their class's confidence, in model-input pixels, before NMS. */
export function detectionCandidates(
  output: OutputTensor,
  imageIndex: number,
  spec: DecodeSpec,
  confidence: ClassThresholds,
): Candidate[] {
  return spec.layout === 'yolo'
    ? rawHeadCandidates(output, imageIndex, spec.classes.length, confidence)
    : nmsExportCandidates(output, imageIndex, spec.classes.length, confidence);
}

/** Kept boxes (highest score first) as recorded: ids d0, d1, ..., class names, scores and boxes rounded. */
export function toDetections(
  kept: readonly Candidate[],
  spec: DecodeSpec,
  box: (c: Candidate) => Detection['box'],
): Detection[] {
  return kept.map((c, i) => ({
    detectionId: `d${i}`,
    classId: c.classId,
    className: spec.classes[c.classId]!,
    score: round(Math.min(1, Math.max(0, c.score)), 6),
    box: box(c),
  }));
}

/** A box already in original pixels, rounded as recorded. */
export const roundedBox = (c: Candidate): Detection['box'] => ({
  x1: round(c.x1, 2),
  y1: round(c.y1, 2),
  x2: round(c.x2, 2),
  y2: round(c.y2, 2),
});

function checkBatchIndex(dims: readonly number[], imageIndex: number): void {
  if (dims.length !== 3) throw new OutputShapeError(`output shape [${dims.join(', ')}] is not 3-D`);
  if (!Number.isInteger(imageIndex) || imageIndex < 0 || imageIndex >= dims[0]!) {
    throw new OutputShapeError(`image ${imageIndex} is outside the output batch of ${dims[0]}`);
  }
}

function rawHeadCandidates(
  output: OutputTensor,
  imageIndex: number,
  nc: number,
  confidence: ClassThresholds,
): Candidate[] {
  const { data, dims } = output;
  checkBatchIndex(dims, imageIndex);
  const [, rows, anchors] = dims as [number, number, number];
  if (rows !== 4 + nc) throw new OutputShapeError(`output has ${rows} rows, expected 4 + ${nc} classes`);
  const base = imageIndex * rows * anchors;
  const out: Candidate[] = [];
  for (let a = 0; a < anchors; a++) {
    let best = -1;
    let classId = 0;
    for (let c = 0; c < nc; c++) {
      const score = data[base + (4 + c) * anchors + a]!;
      if (score > best) {
        best = score;
        classId = c;
      }
    }
    if (!(best > confidence.byClass[classId]!)) continue;
    const cx = data[base + a]!;
    const cy = data[base + anchors + a]!;
    const halfW = data[base + 2 * anchors + a]! / 2;
    const halfH = data[base + 3 * anchors + a]! / 2;
    out.push({ x1: cx - halfW, y1: cy - halfH, x2: cx + halfW, y2: cy + halfH, score: best, classId });
  }
  return out;
}

function nmsExportCandidates(
  output: OutputTensor,
  imageIndex: number,
  nc: number,
  confidence: ClassThresholds,
): Candidate[] {
  const { data, dims } = output;
  checkBatchIndex(dims, imageIndex);
  const [, rows, columns] = dims as [number, number, number];
  if (columns !== 6) throw new OutputShapeError(`output rows have ${columns} values, expected 6`);
  const out: Candidate[] = [];
  for (let r = 0; r < rows; r++) {
    const o = (imageIndex * rows + r) * 6;
    const score = data[o + 4]!;
    if (!(score > confidence.lowest)) continue;
    const classId = Math.round(data[o + 5]!);
    if (!Number.isInteger(classId) || classId < 0 || classId >= nc)
      throw new OutputShapeError(`class id ${classId} outside 0..${nc - 1}`);
    if (!(score > confidence.byClass[classId]!)) continue;
    out.push({ x1: data[o]!, y1: data[o + 1]!, x2: data[o + 2]!, y2: data[o + 3]!, score, classId });
  }
  return out;
}

/**
 * Letterbox pixels → original pixels: subtract the pad that was applied, divide by the ratio,
 * clip to the image. (Ultralytics' scale_boxes recomputes the pad as round((T − s·r)/2 − 0.1)
 * from the unrounded size, which can be one letterbox pixel off the pad LetterBox applied; the
 * applied pad is the exact inverse, and what the shipped model's training labels used.)
 */
export function toOriginalPixels(box: Candidate, geometry: LetterboxGeometry): Detection['box'] {
  const { ratio, pad, source } = geometry;
  const x = (v: number) => round(clamp((v - pad.left) / ratio, 0, source.width), 2);
  const y = (v: number) => round(clamp((v - pad.top) / ratio, 0, source.height), 2);
  return { x1: x(box.x1), y1: y(box.y1), x2: x(box.x2), y2: y(box.y2) };
}

const clamp = (v: number, low: number, high: number) => Math.min(high, Math.max(low, v));
const round = (v: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};
