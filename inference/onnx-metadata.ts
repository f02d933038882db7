import { type PyDict, type PyValue, parsePythonLiteral } from './python-literal.js';

/**
 * Reads `metadata_props` (field 14 of ModelProto: repeated StringStringEntryProto {key=1, value=2})
 * straight from the protobuf wire format. onnxruntime-node does not expose custom metadata.
 * Only the top level is walked; the graph (weights) is skipped by length, so this is cheap.
 */
export function readOnnxMetadataProps(bytes: Uint8Array): Map<string, string> {
  const props = new Map<string, string>();
  const top = new WireReader(bytes, 0, bytes.length);
  while (!top.done()) {
    const { field, wire } = top.tag();
    if (field === 14 && wire === 2) {
      const [start, end] = top.lengthDelimited();
      const entry = new WireReader(bytes, start, end);
      let key = '';
      let value = '';
      while (!entry.done()) {
        const t = entry.tag();
        if (t.wire === 2 && (t.field === 1 || t.field === 2)) {
          const [s, e] = entry.lengthDelimited();
          const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(s, e));
          if (t.field === 1) key = text;
          else value = text;
        } else entry.skip(t.wire);
      }
      props.set(key, value);
    } else top.skip(wire);
  }
  return props;
}

export class OnnxWireError extends Error {
  readonly code = 'not-onnx';
}

class WireReader {
  constructor(
    private readonly bytes: Uint8Array,
    private pos: number,
    private readonly end: number,
  ) {}

  done(): boolean {
    return this.pos >= this.end;
  }

  tag(): { field: number; wire: number } {
    const key = this.varint();
    const field = Math.floor(key / 8);
    if (field === 0) throw new OnnxWireError(`invalid protobuf field 0 at byte ${this.pos}`);
    return { field, wire: key % 8 };
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new OnnxWireError('truncated protobuf varint');
      const byte = this.bytes[this.pos++]!;
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new OnnxWireError('protobuf varint too long');
  }

  lengthDelimited(): [number, number] {
    const length = this.varint();
    const start = this.pos;
    const end = start + length;
    if (end > this.end) throw new OnnxWireError('truncated protobuf field');
    this.pos = end;
    return [start, end];
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.advance(8);
    else if (wire === 2) this.lengthDelimited();
    else if (wire === 5) this.advance(4);
    else throw new OnnxWireError(`unsupported protobuf wire type ${wire}`);
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw new OnnxWireError('truncated protobuf field');
    this.pos += n;
  }
}

/** What an Ultralytics export says about itself; every field is optional in foreign models. */
export interface UltralyticsMetadata {
  readonly task?: string;
  readonly description?: string;
  readonly author?: string;
  readonly version?: string;
  readonly stride?: number;
  readonly batch?: number;
  /** [height, width] as exported. */
  readonly imgsz?: readonly [number, number];
  /** Class names indexed by class id. */
  readonly names?: readonly string[];
  /** True when exported with nms=True (args: {'nms': True}). */
  readonly nms?: boolean;
}

export class InvalidMetadataError extends Error {
  readonly code = 'invalid-metadata';
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`metadata '${key}': ${message}`);
  }
}

/** Interprets the metadata_props values, which are Python `str()` reprs, not JSON. */
export function parseUltralyticsMetadata(props: ReadonlyMap<string, string>): UltralyticsMetadata {
  const text = (key: string) => {
    const value = props.get(key)?.trim();
    return value ? value : undefined;
  };
  const literal = (key: string): PyValue | undefined => {
    const value = text(key);
    if (value === undefined) return undefined;
    try {
      return parsePythonLiteral(value);
    } catch (error) {
      throw new InvalidMetadataError(key, (error as Error).message);
    }
  };
  const integer = (key: string): number | undefined => {
    const value = literal(key);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new InvalidMetadataError(key, 'expected a positive integer');
    }
    return value;
  };
  const args = literal('args');
  const nms = args instanceof Map ? args.get('nms') : undefined;
  return {
    task: text('task'),
    description: text('description'),
    author: text('author'),
    version: text('version'),
    stride: integer('stride'),
    batch: integer('batch'),
    imgsz: parseImgsz(literal('imgsz')),
    names: parseNames(literal('names')),
    nms: typeof nms === 'boolean' ? nms : undefined,
  };
}

function parseImgsz(value: PyValue | undefined): readonly [number, number] | undefined {
  if (value === undefined || value === null) return undefined;
  const positive = (v: PyValue | undefined): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;
  if (positive(value)) return [value, value];
  if (Array.isArray(value)) {
    if (value.length === 1 && positive(value[0])) return [value[0], value[0]];
    if (value.length === 2 && positive(value[0]) && positive(value[1])) return [value[0], value[1]];
  }
  throw new InvalidMetadataError('imgsz', 'expected an integer or [height, width]');
}

/** `{0: 'a', 1: 'b'}` (ids 0..n-1 in any order) or `['a', 'b']`. */
function parseNames(value: PyValue | undefined): readonly string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) {
    if (!value.every((v): v is string => typeof v === 'string')) {
      throw new InvalidMetadataError('names', 'list entries must be strings');
    }
    return value;
  }
  if (value instanceof Map) return namesFromDict(value);
  throw new InvalidMetadataError('names', 'expected a dict {id: name} or a list of names');
}

function namesFromDict(dict: PyDict): string[] {
  const names: string[] = new Array(dict.size);
  for (const [key, name] of dict) {
    const id = typeof key === 'number' ? key : Number(key);
    if (!Number.isInteger(id) || id < 0 || id >= dict.size) {
      throw new InvalidMetadataError('names', `class ids must be 0..${dict.size - 1}, found ${String(key)}`);
    }
    if (typeof name !== 'string') throw new InvalidMetadataError('names', `name of class ${id} is not a string`);
    if (names[id] !== undefined) throw new InvalidMetadataError('names', `class id ${id} appears twice`);
    names[id] = name;
  }
  return names;
}
