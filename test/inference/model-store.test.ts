import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidModelError,
  inspectModel,
  ModelStore,
  ModelUnavailableError,
  modelRegisteredData,
} from '../../inference/model-store.js';
import { SessionPool } from '../../inference/session-pool.js';
import { FsBlobStore } from '../../infra/blob/fs-blob-store.js';
import { ModelRegistered } from '../../schemas/events/index.js';
import { buildOnnxModel, pythonNames, syntheticDetector, syntheticNmsDetector } from './support/onnx-builder.js';

async function refusal(bytes: Uint8Array, options = {}): Promise<InvalidModelError> {
  try {
    await inspectModel(bytes, options);
  } catch (error) {
    if (error instanceof InvalidModelError) return error;
    throw error;
  }
  throw new Error('the model was accepted');
}

describe('inspectModel', () => {
  let pool: SessionPool;
  beforeAll(() => {
    pool = new SessionPool();
  });
  afterAll(async () => {
    await pool.close();
  });

  it('accepts an Ultralytics-layout detector and reads names, input size and layout', async () => {
    const bytes = syntheticDetector({ imgsz: 64, metadata: { description: 'weld test model' } });
    const inspection = await inspectModel(bytes, { pool });
    expect(inspection).toMatchObject({
      sizeBytes: bytes.length,
      task: 'detect',
      format: 'onnx',
      outputLayout: 'yolo',
      classes: ['bright', 'dark'],
      inputSize: { width: 64, height: 64 },
      inputName: 'images',
      outputName: 'output0',
      fixedBatch: null,
      description: 'weld test model',
    });
    expect(inspection.sha256).toMatch(/^[a-f0-9]{64}$/);
    expect(pool.has(inspection.sha256)).toBe(true);
    const data = modelRegisteredData(inspection, { name: 'weld', version: '1.0.0', registeredBy: 'ml@chitti' });
    expect(ModelRegistered.schema.parse(data)).toEqual(data);
  });

  it('recognises an export with nms=True and a fixed batch', async () => {
    const nms = await inspectModel(syntheticNmsDetector([[1, 2, 3, 4, 0.9, 0]]), { pool });
    expect(nms.outputLayout).toBe('yolo-nms');
    const fixed = await inspectModel(syntheticDetector({ batch: 1 }), { pool });
    expect(fixed.fixedBatch).toBe(1);
  });

  it('refuses bytes that are not an ONNX model', async () => {
    expect((await refusal(new Uint8Array())).code).toBe('empty');
    const text = await refusal(Buffer.from('this is a text file, not a model\n'));
    expect(['not-onnx', 'unloadable']).toContain(text.code);
    expect((await refusal(Buffer.from([0x0a, 0xff, 0xff, 0x01]))).code).toBe('not-onnx');
    expect((await refusal(Buffer.from(syntheticDetector()).subarray(0, 200))).code).toMatch(/not-onnx|unloadable/);
  });

  it('refuses models that are not detectors, with the reason', async () => {
    const segmentation = await refusal(syntheticDetector({ metadata: { task: 'segment' } }));
    expect(segmentation.code).toBe('not-detection');
    expect(segmentation.message).toContain('segment');

    const noNames = await refusal(syntheticDetector({ metadata: { names: '' } }));
    expect(noNames.code).toBe('missing-class-names');

    const threeNames = await refusal(syntheticDetector({ metadata: { names: pythonNames(['a', 'b', 'c']) } }));
    expect(threeNames.code).toBe('bad-output');
    expect(threeNames.message).toContain('[B, 7, anchors]');

    const wrongSize = await refusal(syntheticDetector({ imgsz: 64, metadata: { imgsz: '[640, 640]' } }));
    expect(wrongSize.code).toBe('inconsistent-metadata');

    const badNames = await refusal(syntheticDetector({ metadata: { names: "{0: 'a', 1: " } }));
    expect(badNames.code).toBe('invalid-metadata');

    const classifier = buildOnnxModel({
      inputs: [{ name: 'images', elemType: 'float32', dims: [1, 3, 32, 32] }],
      outputs: [{ name: 'probs', elemType: 'float32', dims: [1, 3, 1, 1] }],
      nodes: [{ op: 'GlobalAveragePool', inputs: ['images'], outputs: ['probs'] }],
      metadata: { names: pythonNames(['a', 'b', 'c']) },
    });
    expect((await refusal(classifier)).code).toBe('bad-output');

    const greyInput = buildOnnxModel({
      inputs: [{ name: 'images', elemType: 'float32', dims: [1, 1, 32, 32] }],
      outputs: [{ name: 'y', elemType: 'float32', dims: [1, 1, 32, 32] }],
      nodes: [{ op: 'Identity', inputs: ['images'], outputs: ['y'] }],
      metadata: { names: pythonNames(['a']) },
    });
    const grey = await refusal(greyInput);
    expect(grey.code).toBe('bad-input');
    expect(grey.message).toContain('[B, 3, H, W]');
  });

  it('ModelStore stores accepted models by sha256 and nothing for refused ones', async () => {
    const root = await mkdtemp(join(tmpdir(), 'chitti-models-'));
    try {
      const blobs = new FsBlobStore(root);
      const store = new ModelStore(blobs, { pool });
      const bytes = syntheticDetector({ imgsz: 32 });
      const registered = await store.register(bytes);
      expect(registered.created).toBe(true);
      expect(await store.bytes(registered.sha256)).toEqual(bytes);
      const refused = syntheticDetector({ metadata: { names: pythonNames(['only-one']) } });
      await expect(store.register(refused)).rejects.toBeInstanceOf(InvalidModelError);
      expect(pool.has(createHash('sha256').update(refused).digest('hex'))).toBe(false); // its worker is gone
      const { sha256 } = await new FsBlobStore(join(root, 'elsewhere')).put(refused);
      expect(await blobs.has(sha256)).toBe(false);
      await expect(store.bytes(sha256)).rejects.toBeInstanceOf(ModelUnavailableError);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
