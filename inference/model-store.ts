import { createHash } from 'node:crypto';
import type { EventData } from '../schemas/events/index.js';
import {
  InvalidMetadataError,
  OnnxWireError,
  parseUltralyticsMetadata,
  readOnnxMetadataProps,
  type UltralyticsMetadata,
} from './onnx-metadata.js';
import type { BlobStore } from './ports/blob-store.js';
import { type ModelSession, SessionPool, type TensorInfo } from './session-pool.js';

export type OutputLayout = 'yolo' | 'yolo-nms';

export type InvalidModelCode =
  | 'empty'
  | 'too-large'
  | 'not-onnx'
  | 'unloadable'
  | 'invalid-metadata'
  | 'not-detection'
  | 'bad-input'
  | 'missing-input-size'
  | 'inconsistent-metadata'
  | 'missing-class-names'
  | 'bad-output'
  | 'run-failed';

/** The file is not a loadable ONNX detection model; `message` says why in words a user can act on. */
export class InvalidModelError extends Error {
  constructor(
    readonly code: InvalidModelCode,
    message: string,
  ) {
    super(message);
  }
}

/** What Chitti needs to serve a detection model. */
export interface DetectionModelSpec {
  readonly outputLayout: OutputLayout;
  readonly classes: readonly string[];
  readonly inputSize: { readonly width: number; readonly height: number };
  readonly inputName: string;
  readonly outputName: string;
  /** The exported batch size when the batch dimension is fixed (Ultralytics' default export: 1); null = dynamic. */
  readonly fixedBatch: number | null;
}

export interface ModelInspection extends DetectionModelSpec {
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly task: 'detect';
  readonly format: 'onnx';
  readonly description: string;
  /** Raw metadata_props, for the record. */
  readonly metadata: Readonly<Record<string, string>>;
}

export interface InspectModelOptions {
  /** Class names for a model without `names` metadata (overrides metadata when given). */
  readonly classNames?: readonly string[];
  /** Input size [height, width] for a model with symbolic H/W and no `imgsz` metadata. */
  readonly imgsz?: readonly [number, number];
  /** Default 512 MiB. */
  readonly maxBytes?: number;
  /** Load into this pool (an accepted model's session stays, warm for serving); default: a temporary worker. */
  readonly pool?: SessionPool;
}

const MAX_CLASSES = 1000;
const MAX_CLASS_NAME = 100;

/**
 * Loads the bytes in onnxruntime (in a worker), checks that they are an Ultralytics-style
 * detection model — one float32 input [B,3,H,W]; one output [B,4+nc,A] ('yolo') or [B,N,6]
 * ('yolo-nms') — runs it once on zeros to see the real output shape, and reads class names and
 * input size from the metadata. Throws InvalidModelError otherwise.
 */
export async function inspectModel(bytes: Uint8Array, options: InspectModelOptions = {}): Promise<ModelInspection> {
  if (bytes.length === 0) throw new InvalidModelError('empty', 'the model file is empty');
  const maxBytes = options.maxBytes ?? 512 * 1024 * 1024;
  if (bytes.length > maxBytes) {
    throw new InvalidModelError('too-large', `the model file is ${bytes.length} bytes, limit ${maxBytes}`);
  }
  let props: Map<string, string>;
  let metadata: UltralyticsMetadata;
  try {
    props = readOnnxMetadataProps(bytes);
    metadata = parseUltralyticsMetadata(props);
  } catch (error) {
    if (error instanceof OnnxWireError || error instanceof TypeError) {
      throw new InvalidModelError('not-onnx', `not an ONNX model: ${error.message}`);
    }
    if (error instanceof InvalidMetadataError) throw new InvalidModelError('invalid-metadata', error.message);
    throw error;
  }
  if (metadata.task !== undefined && metadata.task !== 'detect') {
    throw new InvalidModelError('not-detection', `the model's task is '${metadata.task}', only 'detect' is served`);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const pool = options.pool ?? new SessionPool({ intraOpNumThreads: 1 });
  try {
    let session: ModelSession;
    try {
      session = await pool.load(sha256, () => bytes);
    } catch (error) {
      throw new InvalidModelError('unloadable', `onnxruntime cannot load the model: ${(error as Error).message}`);
    }
    const input = checkInput(session.inputs, metadata, options.imgsz);
    const classes = checkClassNames(options.classNames ?? metadata.names);
    const output = checkOutputDeclaration(session.outputs);
    const batch = input.fixedBatch ?? 1;
    let actualDims: readonly number[];
    try {
      const result = await session.run(new Float32Array(batch * 3 * input.height * input.width), [
        batch,
        3,
        input.height,
        input.width,
      ]);
      actualDims = result.outputs[0]!.dims;
    } catch (error) {
      throw new InvalidModelError('run-failed', `the model failed on a test input: ${(error as Error).message}`);
    }
    return {
      sha256,
      sizeBytes: bytes.length,
      task: 'detect',
      format: 'onnx',
      outputLayout: outputLayoutOf(actualDims, classes.length, metadata.nms ?? false),
      classes,
      inputSize: { width: input.width, height: input.height },
      inputName: input.name,
      outputName: output.name,
      fixedBatch: input.fixedBatch,
      description: (metadata.description ?? '').slice(0, 2000),
      metadata: Object.fromEntries(props),
    };
  } catch (error) {
    // A refused model must not keep a session (and its worker) in a long-lived pool.
    if (options.pool) await pool.release(sha256);
    throw error;
  } finally {
    if (!options.pool) await pool.close();
  }
}

interface CheckedInput {
  name: string;
  height: number;
  width: number;
  fixedBatch: number | null;
}

export function checkInput(
  inputs: readonly TensorInfo[],
  metadata: UltralyticsMetadata,
  imgszOverride?: readonly [number, number],
): CheckedInput {
  if (inputs.length !== 1) {
    throw new InvalidModelError('bad-input', `expected one image input, the model has ${inputs.length}`);
  }
  const input = inputs[0]!;
  const shape = `[${input.shape.join(', ')}]`;
  if (input.type !== 'float32') {
    throw new InvalidModelError('bad-input', `input '${input.name}' is ${input.type}, expected float32`);
  }
  if (input.shape.length !== 4 || input.shape[1] !== 3) {
    throw new InvalidModelError('bad-input', `input '${input.name}' has shape ${shape}, expected [B, 3, H, W]`);
  }
  const [b, , h, w] = input.shape;
  const declared = imgszOverride ?? metadata.imgsz;
  let height: number;
  let width: number;
  if (typeof h === 'number' && typeof w === 'number') {
    if (h <= 0 || w <= 0) throw new InvalidModelError('bad-input', `input '${input.name}' has shape ${shape}`);
    if (declared && (declared[0] !== h || declared[1] !== w)) {
      throw new InvalidModelError(
        'inconsistent-metadata',
        `metadata imgsz [${declared.join(', ')}] does not match the input shape ${shape}`,
      );
    }
    height = h;
    width = w;
  } else if (declared) {
    [height, width] = declared;
  } else {
    throw new InvalidModelError('missing-input-size', `input shape ${shape} is dynamic and the model has no imgsz`);
  }
  const fixedBatch = typeof b === 'number' && b > 0 ? b : null;
  return { name: input.name, height, width, fixedBatch };
}

export function checkClassNames(names: readonly string[] | undefined): string[] {
  if (!names || names.length === 0) {
    throw new InvalidModelError('missing-class-names', 'the model has no class names (metadata "names")');
  }
  if (names.length > MAX_CLASSES) {
    throw new InvalidModelError('invalid-metadata', `${names.length} classes, at most ${MAX_CLASSES}`);
  }
  for (const [i, name] of names.entries()) {
    if (name.length === 0 || name.length > MAX_CLASS_NAME) {
      throw new InvalidModelError('invalid-metadata', `class ${i} name must be 1..${MAX_CLASS_NAME} characters`);
    }
  }
  return [...names];
}

function checkOutputDeclaration(outputs: readonly TensorInfo[]): TensorInfo {
  if (outputs.length !== 1) {
    throw new InvalidModelError(
      'not-detection',
      `expected one detection output, the model has ${outputs.length} (segmentation and pose models are not served)`,
    );
  }
  const output = outputs[0]!;
  if (output.type !== 'float32') {
    throw new InvalidModelError('bad-output', `output '${output.name}' is ${output.type}, expected float32`);
  }
  return output;
}

/** [B, 4+nc, A] → 'yolo'; [B, N, 6] → 'yolo-nms' (exported with nms=True); else refused. */
export function outputLayoutOf(dims: readonly number[], classCount: number, exportedWithNms: boolean): OutputLayout {
  const shape = `[${dims.join(', ')}]`;
  if (dims.length !== 3) {
    throw new InvalidModelError('bad-output', `output shape ${shape} is not [B, 4+classes, anchors] or [B, N, 6]`);
  }
  const [, rows, columns] = dims as [number, number, number];
  const raw = rows === 4 + classCount && columns > 0;
  const nms = columns === 6;
  if (raw && !(nms && exportedWithNms)) return 'yolo';
  if (nms) return 'yolo-nms';
  throw new InvalidModelError(
    'bad-output',
    `output shape ${shape} does not match ${classCount} class names: expected [B, ${4 + classCount}, anchors] or [B, N, 6]`,
  );
}

export class ModelUnavailableError extends Error {
  readonly code = 'model-unavailable';
  constructor(readonly sha256: string) {
    super(`model ${sha256} is not in the model store`);
  }
}

/** Models as content-addressed blobs: registered once inspected, read by sha256. */
export class ModelStore {
  constructor(
    private readonly blobs: BlobStore,
    private readonly defaults: Omit<InspectModelOptions, 'classNames' | 'imgsz'> = {},
  ) {}

  /** Inspects, then stores the bytes; nothing is stored when the model is refused. */
  async register(
    bytes: Buffer,
    options: Omit<InspectModelOptions, 'pool' | 'maxBytes'> = {},
  ): Promise<ModelInspection & { created: boolean }> {
    const inspection = await inspectModel(bytes, { ...this.defaults, ...options });
    const { created } = await this.blobs.put(bytes);
    return { ...inspection, created };
  }

  async bytes(sha256: string): Promise<Buffer> {
    const bytes = await this.blobs.get(sha256);
    if (!bytes) throw new ModelUnavailableError(sha256);
    return bytes;
  }
}

/** The ModelRegistered payload for an inspected model. */
export function modelRegisteredData(
  inspection: ModelInspection,
  registration: {
    name: string;
    version: string;
    registeredBy: string;
    metrics?: Record<string, number>;
    description?: string;
  },
): EventData<'ModelRegistered'> {
  return {
    name: registration.name,
    version: registration.version,
    sha256: inspection.sha256,
    sizeBytes: inspection.sizeBytes,
    task: 'detect',
    format: 'onnx',
    outputLayout: inspection.outputLayout,
    classes: [...inspection.classes],
    inputSize: { ...inspection.inputSize },
    metrics: registration.metrics ?? {},
    description: (registration.description ?? inspection.description).slice(0, 2000),
    tiling: null,
    registeredBy: registration.registeredBy,
  };
}
