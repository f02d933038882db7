/**
 * Whole radiographs through the production inspection path, for evaluation (issue 9): each image
 * file is opened by the image pool (decode, 16-bit percentile window), tiled by the model's tiling
 * (`planInput`), batched through the micro-batcher into an onnxruntime-node session, decoded and
 * NMS-ed per tile, mapped back and merged across tile borders (`mergeTileCandidates`): the
 * `Detector` that `npm start` serves with, not a copy of it. One JSON line per image on stdout.
 *
 *   node --import tsx inference/training/tiled-detect.ts --model inference/models/weld-defects-2.0.0.onnx \
 *     --conf 0.01 [--iou 0.45] [--class-confidence '{"crack":0.3}'] [--tiling '{"overlapPx":64,...}'] IMAGE...
 *
 * Without --tiling / --iou, the tiling and NMS IoU of that version's bundled deployment file apply
 * (what `npm start` registers it with). --class-confidence: per-class thresholds (class name ->
 * confidence; others at --conf), applied in each tile before NMS and the merge as serving does;
 * absent: every class at --conf. `evaluate.py --full` runs this and scores its output.
 */

import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { findBundledModels } from '../../cli/bootstrap.js';
import { ClassConfidence, Tiling } from '../../schemas/events/index.js';
import { Detector, type ServedModel } from '../detector.js';
import { ImagePool } from '../image-pool.js';
import { inspectModel } from '../model-store.js';
import { SessionPool } from '../session-pool.js';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      conf: { type: 'string', default: '0.01' },
      iou: { type: 'string' },
      'class-confidence': { type: 'string' },
      'max-detections': { type: 'string', default: '300' },
      tiling: { type: 'string' },
      threads: { type: 'string', default: '2' },
    },
  });
  if (!values.model) throw new Error('--model FILE.onnx is required');
  const version = /-(\d+\.\d+\.\d+)\.onnx$/.exec(values.model)?.[1];
  const bundled = (await findBundledModels('weld-defects')).find((b) => b.version === version);
  const tiling = values.tiling ? Tiling.parse(JSON.parse(values.tiling)) : (bundled?.tiling ?? null);
  const iou = values.iou !== undefined ? Number(values.iou) : (bundled?.thresholds?.iou ?? 0.45);
  const classConfidence = ClassConfidence.parse(JSON.parse(values['class-confidence'] ?? '{}'));
  const thresholds = {
    confidence: Number(values.conf),
    iou,
    maxDetections: Number(values['max-detections']),
    classConfidence,
  };

  const bytes = await readFile(values.model);
  const pool = new SessionPool({ intraOpNumThreads: Number(values.threads) });
  const images = new ImagePool();
  const model: ServedModel = { ...(await inspectModel(bytes, { pool })), tiling };
  const unknown = Object.keys(classConfidence).filter((name) => !model.classes.includes(name));
  if (unknown.length > 0) throw new Error(`--class-confidence names classes the model lacks: ${unknown.join(', ')}`);
  const detector = new Detector(pool, images, async () => bytes, { maxBatch: 8, maxWaitMs: 2 });
  try {
    for (const file of positionals) {
      const opened = await detector.open(await readFile(file));
      try {
        const started = performance.now();
        const result = await detector.detect(opened, model, thresholds);
        const detections = result.detections.map((d) => [d.box.x1, d.box.y1, d.box.x2, d.box.y2, d.score, d.classId]);
        process.stdout.write(
          `${JSON.stringify({
            file: basename(file),
            width: result.image.width,
            height: result.image.height,
            tiles: result.tiling?.tiles ?? 1,
            ms: Math.round(performance.now() - started),
            detections,
          })}\n`,
        );
      } finally {
        opened.image.release();
      }
    }
  } finally {
    await detector.close();
    await pool.close();
    await images.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
