/**
 * Writes small ONNX models (protobuf wire format, by hand) for tests and benchmarks, so tests can
 * build exactly the graph, shapes and metadata they need without Python.
 * Field numbers follow onnx/onnx.proto (IR version 7, opset 13).
 */

type Dim = number | string;
export type ElemType = 'float32' | 'int64' | 'uint8';
const ELEM_TYPE: Record<ElemType, number> = { float32: 1, uint8: 2, int64: 7 };

export interface ValueInfo {
  name: string;
  elemType: ElemType;
  dims: Dim[];
}
export type Attribute = number | number[] | string | { floats: number[] } | { float: number };
export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, Attribute>;
}
export interface Initializer {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}
export interface ModelSpec {
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  nodes: NodeSpec[];
  initializers?: Initializer[];
  metadata?: Record<string, string>;
  opset?: number;
}

class Writer {
  private readonly chunks: Buffer[] = [];
  varint(field: number, value: number | bigint): this {
    this.tag(field, 0);
    this.rawVarint(BigInt(value));
    return this;
  }
  bytes(field: number, value: Uint8Array | string): this {
    const buffer = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
    this.tag(field, 2);
    this.rawVarint(BigInt(buffer.length));
    this.chunks.push(buffer);
    return this;
  }
  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.bytes(field, inner.finish());
  }
  float(field: number, value: number): this {
    this.tag(field, 5);
    const b = Buffer.alloc(4);
    b.writeFloatLE(value);
    this.chunks.push(b);
    return this;
  }
  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }
  private tag(field: number, wire: number): void {
    this.rawVarint(BigInt((field << 3) | wire));
  }
  private rawVarint(value: bigint): void {
    // int64 negatives are encoded as 10-byte two's complement varints.
    let v = value < 0n ? (1n << 64n) + value : value;
    const out: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) byte |= 0x80;
      out.push(byte);
    } while (v > 0n);
    this.chunks.push(Buffer.from(out));
  }
}

function writeValueInfo(w: Writer, info: ValueInfo): void {
  w.bytes(1, info.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.varint(1, ELEM_TYPE[info.elemType]);
      tensor.message(2, (shape) => {
        for (const dim of info.dims) {
          shape.message(1, (d) => (typeof dim === 'number' ? d.varint(1, dim) : d.bytes(2, dim)));
        }
      });
    }),
  );
}

function writeAttribute(w: Writer, name: string, value: Attribute): void {
  w.bytes(1, name);
  if (typeof value === 'number') w.varint(3, value).varint(20, 2);
  else if (typeof value === 'string') w.bytes(4, value).varint(20, 3);
  else if (Array.isArray(value)) {
    for (const v of value) w.varint(8, v);
    w.varint(20, 7);
  } else if ('floats' in value) {
    for (const v of value.floats) w.float(7, v);
    w.varint(20, 6);
  } else w.float(2, value.float).varint(20, 1);
}

function writeTensor(w: Writer, init: Initializer): void {
  for (const d of init.dims) w.varint(1, d);
  w.varint(2, init.data instanceof Float32Array ? 1 : 7);
  w.bytes(8, init.name);
  w.bytes(9, new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength));
}

export function buildOnnxModel(spec: ModelSpec): Buffer {
  const w = new Writer();
  w.varint(1, 7);
  w.bytes(2, 'chitti-tests');
  w.message(7, (graph) => {
    spec.nodes.forEach((node, i) => {
      graph.message(1, (n) => {
        for (const input of node.inputs) n.bytes(1, input);
        for (const output of node.outputs) n.bytes(2, output);
        n.bytes(3, `${node.op.toLowerCase()}_${i}`);
        n.bytes(4, node.op);
        for (const [name, value] of Object.entries(node.attributes ?? {})) {
          n.message(5, (a) => writeAttribute(a, name, value));
        }
      });
    });
    graph.bytes(2, 'main');
    for (const init of spec.initializers ?? []) graph.message(5, (t) => writeTensor(t, init));
    for (const input of spec.inputs) graph.message(11, (v) => writeValueInfo(v, input));
    for (const output of spec.outputs) graph.message(12, (v) => writeValueInfo(v, output));
  });
  w.message(8, (opset) => opset.bytes(1, '').varint(2, spec.opset ?? 13));
  for (const [key, value] of Object.entries(spec.metadata ?? {})) {
    w.message(14, (entry) => entry.bytes(1, key).bytes(2, value));
  }
  return w.finish();
}

/** Python `str()` of a dict {0: 'a', 1: 'b'}, as Ultralytics writes `names`. */
export function pythonNames(classes: readonly string[]): string {
  return `{${classes.map((c, i) => `${i}: ${pythonString(c)}`).join(', ')}}`;
}
function pythonString(s: string): string {
  if (s.includes("'") && !s.includes('"')) return `"${s}"`;
  return `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

export interface SyntheticDetectorOptions {
  /** Square input side in pixels (multiple of stride). */
  imgsz?: number;
  stride?: number;
  /** Numeric batch dimension for a static export; default dynamic ('batch'). */
  batch?: number | 'dynamic';
  /** Extra or overriding metadata_props. */
  metadata?: Record<string, string>;
}

/**
 * A real (if simple) detector with the exact Ultralytics head layout [B, 4+nc, A]:
 * each stride×stride cell is one anchor whose box is the cell (cx, cy, stride, stride);
 * class 0 ("bright") scores sigmoid(40·(mean − 0.6)), class 1 ("dark") sigmoid(40·(0.1 − mean)),
 * mean being the cell's average over RGB in [0, 1].
 */
export function syntheticDetector(options: SyntheticDetectorOptions = {}): Buffer {
  const imgsz = options.imgsz ?? 64;
  const s = options.stride ?? 8;
  const cells = imgsz / s;
  const a = cells * cells;
  const classes = ['bright', 'dark'];
  const nc = classes.length;
  const batch: Dim = options.batch === undefined || options.batch === 'dynamic' ? 'batch' : options.batch;
  const grid = new Float32Array(4 * a);
  for (let i = 0; i < cells; i++) {
    for (let j = 0; j < cells; j++) {
      const k = i * cells + j;
      grid[k] = (j + 0.5) * s;
      grid[a + k] = (i + 0.5) * s;
      grid[2 * a + k] = s;
      grid[3 * a + k] = s;
    }
  }
  const third = 40 / 3;
  return buildOnnxModel({
    inputs: [{ name: 'images', elemType: 'float32', dims: [batch, 3, imgsz, imgsz] }],
    outputs: [{ name: 'output0', elemType: 'float32', dims: [batch, 4 + nc, a] }],
    initializers: [
      { name: 'cls_w', dims: [nc, 3, 1, 1], data: new Float32Array([third, third, third, -third, -third, -third]) },
      { name: 'cls_b', dims: [nc], data: new Float32Array([-40 * 0.6, 40 * 0.1]) },
      { name: 'zero_w', dims: [4, 3, 1, 1], data: new Float32Array(12) },
      { name: 'grid', dims: [1, 4, cells, cells], data: grid },
      { name: 'out_shape', dims: [3], data: new BigInt64Array([0n, BigInt(4 + nc), -1n]) },
    ],
    nodes: [
      {
        op: 'AveragePool',
        inputs: ['images'],
        outputs: ['pooled'],
        attributes: { kernel_shape: [s, s], strides: [s, s] },
      },
      { op: 'Conv', inputs: ['pooled', 'cls_w', 'cls_b'], outputs: ['logits'] },
      { op: 'Sigmoid', inputs: ['logits'], outputs: ['scores'] },
      { op: 'Conv', inputs: ['pooled', 'zero_w'], outputs: ['zeros'] },
      { op: 'Add', inputs: ['zeros', 'grid'], outputs: ['boxes'] },
      { op: 'Concat', inputs: ['boxes', 'scores'], outputs: ['head'], attributes: { axis: 1 } },
      { op: 'Reshape', inputs: ['head', 'out_shape'], outputs: ['output0'] },
    ],
    metadata: {
      description: 'Chitti synthetic test detector',
      author: 'chitti tests',
      task: 'detect',
      stride: String(s),
      batch: String(typeof batch === 'number' ? batch : 1),
      imgsz: `[${imgsz}, ${imgsz}]`,
      names: pythonNames(classes),
      ...options.metadata,
    },
  });
}

/** An "exported with nms=True" detector: output [B, N, 6] holding the fixed rows given (x1,y1,x2,y2,score,class). */
export function syntheticNmsDetector(rows: number[][], options: { imgsz?: number; classes?: string[] } = {}): Buffer {
  const imgsz = options.imgsz ?? 64;
  const n = rows.length;
  const classes = options.classes ?? ['bright', 'dark'];
  return buildOnnxModel({
    inputs: [{ name: 'images', elemType: 'float32', dims: ['batch', 3, imgsz, imgsz] }],
    outputs: [{ name: 'output0', elemType: 'float32', dims: ['batch', n, 6] }],
    initializers: [
      { name: 'zero_w', dims: [n * 6, 3, 1, 1], data: new Float32Array(n * 6 * 3) },
      { name: 'rows', dims: [1, n * 6, 1, 1], data: new Float32Array(rows.flat()) },
      { name: 'out_shape', dims: [3], data: new BigInt64Array([0n, BigInt(n), 6n]) },
    ],
    nodes: [
      { op: 'GlobalAveragePool', inputs: ['images'], outputs: ['pooled'] },
      { op: 'Conv', inputs: ['pooled', 'zero_w'], outputs: ['zeros'] },
      { op: 'Add', inputs: ['zeros', 'rows'], outputs: ['flat'] },
      { op: 'Reshape', inputs: ['flat', 'out_shape'], outputs: ['output0'] },
    ],
    metadata: {
      task: 'detect',
      imgsz: `[${imgsz}, ${imgsz}]`,
      names: pythonNames(classes),
      args: "{'nms': True, 'batch': 1}",
    },
  });
}

/**
 * An "exported with nms=True" detector that finds one object per input: the bounding box of all
 * pixels whose RGB mean is above 0.6 (x2, y2 exclusive, in input pixels), score 1 when there is
 * one, else 0 (filtered out), class 0 ("bright"). Pixel-exact, so a test can plant bright objects
 * on tile borders and check where the pipeline puts them.
 */
export function brightBoundsDetector(imgsz = 64): Buffer {
  const index = (n: number, plus = 0) => Float32Array.from({ length: n }, (_, i) => i + plus);
  const axes = { axes: [1, 2, 3], keepdims: 1 };
  return buildOnnxModel({
    inputs: [{ name: 'images', elemType: 'float32', dims: ['batch', 3, imgsz, imgsz] }],
    outputs: [{ name: 'output0', elemType: 'float32', dims: ['batch', 1, 6] }],
    initializers: [
      { name: 'mean_w', dims: [1, 3, 1, 1], data: new Float32Array([1 / 3, 1 / 3, 1 / 3]) },
      { name: 'threshold', dims: [], data: new Float32Array([0.6]) },
      { name: 'one', dims: [], data: new Float32Array([1]) },
      { name: 'zero', dims: [], data: new Float32Array([0]) },
      { name: 'big', dims: [], data: new Float32Array([1e6]) },
      { name: 'xs', dims: [1, 1, 1, imgsz], data: index(imgsz) },
      { name: 'xs1', dims: [1, 1, 1, imgsz], data: index(imgsz, 1) },
      { name: 'ys', dims: [1, 1, imgsz, 1], data: index(imgsz) },
      { name: 'ys1', dims: [1, 1, imgsz, 1], data: index(imgsz, 1) },
      { name: 'out_shape', dims: [3], data: new BigInt64Array([0n, 1n, 6n]) },
    ],
    nodes: [
      { op: 'Conv', inputs: ['images', 'mean_w'], outputs: ['mean'] },
      { op: 'Greater', inputs: ['mean', 'threshold'], outputs: ['bright'] },
      { op: 'Cast', inputs: ['bright'], outputs: ['mask'], attributes: { to: 1 } },
      { op: 'ReduceMax', inputs: ['mask'], outputs: ['cols'], attributes: { axes: [2], keepdims: 1 } },
      { op: 'ReduceMax', inputs: ['mask'], outputs: ['rows'], attributes: { axes: [3], keepdims: 1 } },
      { op: 'ReduceMax', inputs: ['cols'], outputs: ['score'], attributes: axes },
      // x1 = min index of a bright column (others pushed up by `big`); x2 = max (index + 1) of one.
      { op: 'Sub', inputs: ['one', 'cols'], outputs: ['not_cols'] },
      { op: 'Mul', inputs: ['not_cols', 'big'], outputs: ['cols_penalty'] },
      { op: 'Add', inputs: ['xs', 'cols_penalty'], outputs: ['x_candidates'] },
      { op: 'ReduceMin', inputs: ['x_candidates'], outputs: ['x1'], attributes: axes },
      { op: 'Mul', inputs: ['xs1', 'cols'], outputs: ['x_ends'] },
      { op: 'ReduceMax', inputs: ['x_ends'], outputs: ['x2'], attributes: axes },
      { op: 'Sub', inputs: ['one', 'rows'], outputs: ['not_rows'] },
      { op: 'Mul', inputs: ['not_rows', 'big'], outputs: ['rows_penalty'] },
      { op: 'Add', inputs: ['ys', 'rows_penalty'], outputs: ['y_candidates'] },
      { op: 'ReduceMin', inputs: ['y_candidates'], outputs: ['y1'], attributes: axes },
      { op: 'Mul', inputs: ['ys1', 'rows'], outputs: ['y_ends'] },
      { op: 'ReduceMax', inputs: ['y_ends'], outputs: ['y2'], attributes: axes },
      { op: 'Mul', inputs: ['score', 'zero'], outputs: ['class'] },
      {
        op: 'Concat',
        inputs: ['x1', 'y1', 'x2', 'y2', 'score', 'class'],
        outputs: ['row'],
        attributes: { axis: 1 },
      },
      { op: 'Reshape', inputs: ['row', 'out_shape'], outputs: ['output0'] },
    ],
    metadata: {
      task: 'detect',
      imgsz: `[${imgsz}, ${imgsz}]`,
      names: pythonNames(['bright']),
      args: "{'nms': True, 'batch': 1}",
    },
  });
}
