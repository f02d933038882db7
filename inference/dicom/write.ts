import { deflateRawSync } from 'node:zlib';

/**
 * A small DICOM Part 10 writer: enough to make the test suite's files (every transfer syntax and
 * pixel layout the reader handles, and broken ones) and the README's sample. Not a general encoder:
 * no sequences, values given as strings (text VRs) or numbers (US, UL, SS) or bytes (OB, OW).
 */

export type Vr =
  | 'AE'
  | 'AS'
  | 'CS'
  | 'DA'
  | 'DS'
  | 'DT'
  | 'IS'
  | 'LO'
  | 'LT'
  | 'PN'
  | 'SH'
  | 'ST'
  | 'TM'
  | 'UI'
  | 'UL'
  | 'US'
  | 'SS'
  | 'OB'
  | 'OW';

export interface DicomElement {
  /** (group << 16) | element */
  readonly tag: number;
  readonly vr: Vr;
  readonly value: string | readonly number[] | Uint8Array;
}

export const TRANSFER_SYNTAX = {
  implicitLittle: '1.2.840.10008.1.2',
  explicitLittle: '1.2.840.10008.1.2.1',
  deflatedExplicitLittle: '1.2.840.10008.1.2.1.99',
  explicitBig: '1.2.840.10008.1.2.2',
  rle: '1.2.840.10008.1.2.5',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  jpegLossless: '1.2.840.10008.1.2.4.70',
  jpegLs: '1.2.840.10008.1.2.4.80',
  jpeg2000: '1.2.840.10008.1.2.4.90',
} as const;

const LONG_VRS = new Set<Vr>(['OB', 'OW']);
/** Chitti's writer, under the 2.25 root (a UUID as a decimal integer: no registered root needed). */
const IMPLEMENTATION_CLASS_UID = `2.25.${BigInt('0x5e0c4a2f9d8b47e1a3c6b0f2d4e8a915').toString()}`;
const PIXEL_DATA = 0x7fe00010;

export interface WriteOptions {
  readonly transferSyntaxUid: string;
  /** Write the 128-byte preamble before "DICM" (default true). */
  readonly preamble?: boolean;
  /** Replace the "DICM" prefix (to make broken files). */
  readonly prefix?: string;
  /** The pixel data element's length field, when it must lie (to make broken files). */
  readonly pixelDataLengthField?: number;
  readonly mediaStorageSopClassUid?: string;
  readonly mediaStorageSopInstanceUid?: string;
}

/** The file's bytes: preamble, prefix, meta group (explicit VR LE), then the data set in the transfer syntax. */
export function writeDicom(elements: readonly DicomElement[], options: WriteOptions): Uint8Array {
  const ts = options.transferSyntaxUid;
  const find = (tag: number) => elements.find((e) => e.tag === tag)?.value;
  const meta: DicomElement[] = [
    { tag: 0x00020001, vr: 'OB', value: new Uint8Array([0, 1]) },
    {
      tag: 0x00020002,
      vr: 'UI',
      value: options.mediaStorageSopClassUid ?? String(find(0x00080016) ?? '1.2.840.10008.5.1.4.1.1.7'),
    },
    { tag: 0x00020003, vr: 'UI', value: options.mediaStorageSopInstanceUid ?? String(find(0x00080018) ?? '1.2.3') },
    { tag: 0x00020010, vr: 'UI', value: ts },
    { tag: 0x00020012, vr: 'UI', value: IMPLEMENTATION_CLASS_UID },
    { tag: 0x00020013, vr: 'SH', value: 'CHITTI' },
  ];
  const metaBody = concat(meta.map((e) => encodeElement(e, { explicit: true, bigEndian: false })));
  const groupLength = encodeElement(
    { tag: 0x00020000, vr: 'UL', value: [metaBody.length] },
    { explicit: true, bigEndian: false },
  );
  const syntax = {
    explicit: ts !== TRANSFER_SYNTAX.implicitLittle,
    bigEndian: ts === TRANSFER_SYNTAX.explicitBig,
  };
  const sorted = [...elements].sort((a, b) => a.tag - b.tag);
  let body = concat(
    sorted.map((e) =>
      e.tag === PIXEL_DATA && isEncapsulated(ts)
        ? encapsulatedPixelData(e.value as Uint8Array)
        : encodeElement(e, syntax, e.tag === PIXEL_DATA ? options.pixelDataLengthField : undefined),
    ),
  );
  if (ts === TRANSFER_SYNTAX.deflatedExplicitLittle) body = new Uint8Array(deflateRawSync(body));
  const prefix = new TextEncoder().encode(options.prefix ?? 'DICM');
  const preamble = options.preamble === false ? new Uint8Array(0) : new Uint8Array(128);
  return concat([preamble, prefix, groupLength, metaBody, body]);
}

const isEncapsulated = (ts: string) =>
  ts !== TRANSFER_SYNTAX.implicitLittle &&
  ts !== TRANSFER_SYNTAX.explicitLittle &&
  ts !== TRANSFER_SYNTAX.explicitBig &&
  ts !== TRANSFER_SYNTAX.deflatedExplicitLittle;

function encodeElement(
  element: DicomElement,
  syntax: { explicit: boolean; bigEndian: boolean },
  lengthField?: number,
): Uint8Array {
  const value = encodeValue(element, syntax.bigEndian);
  const long = LONG_VRS.has(element.vr);
  const headerSize = !syntax.explicit ? 8 : long ? 12 : 8;
  const out = new Uint8Array(headerSize + value.length);
  const view = new DataView(out.buffer);
  const le = !syntax.bigEndian;
  view.setUint16(0, element.tag >>> 16, le);
  view.setUint16(2, element.tag & 0xffff, le);
  const length = lengthField ?? value.length;
  if (!syntax.explicit) {
    view.setUint32(4, length, le);
  } else {
    out[4] = element.vr.charCodeAt(0);
    out[5] = element.vr.charCodeAt(1);
    if (long) view.setUint32(8, length, le);
    else view.setUint16(6, length, le);
  }
  out.set(value, headerSize);
  return out;
}

function encodeValue(element: DicomElement, bigEndian: boolean): Uint8Array {
  const { vr, value } = element;
  if (value instanceof Uint8Array) {
    const bytes = new Uint8Array(value.length + (value.length % 2));
    bytes.set(value);
    // OW is a stream of 16-bit words: byte order follows the transfer syntax.
    if (vr === 'OW' && bigEndian) {
      for (let i = 0; i + 1 < bytes.length; i += 2) [bytes[i], bytes[i + 1]] = [bytes[i + 1]!, bytes[i]!];
    }
    return bytes;
  }
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'latin1');
    if (bytes.length % 2 === 0) return new Uint8Array(bytes);
    return new Uint8Array(Buffer.concat([bytes, Buffer.from([vr === 'UI' ? 0 : 0x20])]));
  }
  const size = vr === 'UL' ? 4 : 2;
  const out = new Uint8Array(value.length * size);
  const view = new DataView(out.buffer);
  value.forEach((v, i) => {
    if (vr === 'UL') view.setUint32(i * 4, v, !bigEndian);
    else if (vr === 'SS') view.setInt16(i * 2, v, !bigEndian);
    else view.setUint16(i * 2, v, !bigEndian);
  });
  return out;
}

/** One fragment holding the given bytes after an empty offset table (a compressed file's shape). */
function encapsulatedPixelData(fragment: Uint8Array): Uint8Array {
  const item = (bytes: Uint8Array) => {
    const out = new Uint8Array(8 + bytes.length);
    const view = new DataView(out.buffer);
    view.setUint16(0, 0xfffe, true);
    view.setUint16(2, 0xe000, true);
    view.setUint32(4, bytes.length, true);
    out.set(bytes, 8);
    return out;
  };
  const header = new Uint8Array(12);
  const view = new DataView(header.buffer);
  view.setUint16(0, 0x7fe0, true);
  view.setUint16(2, 0x0010, true);
  header[4] = 0x4f; // O
  header[5] = 0x42; // B
  view.setUint32(8, 0xffffffff, true);
  const end = new Uint8Array(8);
  const endView = new DataView(end.buffer);
  endView.setUint16(0, 0xfffe, true);
  endView.setUint16(2, 0xe0dd, true);
  return concat([
    header,
    item(new Uint8Array(0)),
    item(fragment.length % 2 ? concat([fragment, new Uint8Array(1)]) : fragment),
    end,
  ]);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** What a single-frame greyscale image file says about itself; `dicomImage` turns it into elements. */
export interface GreyImageSpec {
  readonly rows: number;
  readonly columns: number;
  readonly bitsAllocated: 8 | 16;
  readonly bitsStored?: number;
  readonly highBit?: number;
  readonly signed?: boolean;
  /** Stored values (before masking), row by row; written at HighBit, other bits left zero. */
  readonly stored: ArrayLike<number>;
  readonly photometric?: 'MONOCHROME1' | 'MONOCHROME2' | 'RGB';
  readonly presentationLutShape?: 'IDENTITY' | 'INVERSE';
  readonly rescale?: { readonly slope: number; readonly intercept: number };
  readonly window?: { readonly center: number; readonly width: number };
  readonly pixelSpacing?: readonly [number, number];
  readonly imagerPixelSpacing?: readonly [number, number];
  readonly frames?: number;
  /** Samples actually written (default rows × columns × frames): fewer makes a header that over-claims. */
  readonly writtenSamples?: number;
  readonly sopClassUid?: string;
  readonly sopInstanceUid: string;
  readonly modality?: string;
  readonly manufacturer?: string;
  readonly manufacturerModelName?: string;
  readonly acquisitionDate?: string;
  readonly acquisitionTime?: string;
  readonly studyDate?: string;
  /** DICONDE component identification (Patient module) and a DICONDE attribute (group 0014). */
  readonly component?: { readonly id: string; readonly name: string; readonly manufacturingProcedure?: string };
  /** Personal names a real header may carry; the reader must never record them. */
  readonly operatorsName?: string;
  readonly referringPhysicianName?: string;
  readonly extra?: readonly DicomElement[];
}

const ds = (v: number) => String(Number(v.toPrecision(10)));

/** The elements of a single-frame greyscale image (DX for Presentation unless told otherwise). */
export function dicomImage(spec: GreyImageSpec): DicomElement[] {
  const bitsStored = spec.bitsStored ?? spec.bitsAllocated;
  const highBit = spec.highBit ?? bitsStored - 1;
  const frames = spec.frames ?? 1;
  const count = spec.writtenSamples ?? spec.rows * spec.columns * frames;
  const bytesPer = spec.bitsAllocated / 8;
  const pixels = new Uint8Array(count * bytesPer);
  const mask = 2 ** bitsStored - 1;
  const shift = highBit + 1 - bitsStored;
  for (let i = 0; i < count; i++) {
    const raw = ((spec.stored[i] ?? 0) & mask) * 2 ** shift;
    if (bytesPer === 1) pixels[i] = raw;
    else {
      pixels[2 * i] = raw & 0xff;
      pixels[2 * i + 1] = raw >>> 8;
    }
  }
  const e = (tag: number, vr: Vr, value: DicomElement['value']): DicomElement => ({ tag, vr, value });
  const list: DicomElement[] = [
    e(0x00080016, 'UI', spec.sopClassUid ?? '1.2.840.10008.5.1.4.1.1.1.1'),
    e(0x00080018, 'UI', spec.sopInstanceUid),
    e(0x00080060, 'CS', spec.modality ?? 'DX'),
    e(0x00280002, 'US', [spec.photometric === 'RGB' ? 3 : 1]),
    e(0x00280004, 'CS', spec.photometric ?? 'MONOCHROME2'),
    e(0x00280010, 'US', [spec.rows]),
    e(0x00280011, 'US', [spec.columns]),
    e(0x00280100, 'US', [spec.bitsAllocated]),
    e(0x00280101, 'US', [bitsStored]),
    e(0x00280102, 'US', [highBit]),
    e(0x00280103, 'US', [spec.signed ? 1 : 0]),
    e(0x7fe00010, spec.bitsAllocated === 8 ? 'OB' : 'OW', pixels),
  ];
  if (frames !== 1) list.push(e(0x00280008, 'IS', String(frames)));
  if (spec.manufacturer) list.push(e(0x00080070, 'LO', spec.manufacturer));
  if (spec.manufacturerModelName) list.push(e(0x00081090, 'LO', spec.manufacturerModelName));
  if (spec.acquisitionDate) list.push(e(0x00080022, 'DA', spec.acquisitionDate));
  if (spec.acquisitionTime) list.push(e(0x00080032, 'TM', spec.acquisitionTime));
  if (spec.studyDate) list.push(e(0x00080020, 'DA', spec.studyDate));
  if (spec.presentationLutShape) list.push(e(0x20500020, 'CS', spec.presentationLutShape));
  if (spec.rescale) {
    list.push(e(0x00281052, 'DS', ds(spec.rescale.intercept)), e(0x00281053, 'DS', ds(spec.rescale.slope)));
  }
  if (spec.window) {
    list.push(e(0x00281050, 'DS', ds(spec.window.center)), e(0x00281051, 'DS', ds(spec.window.width)));
  }
  if (spec.pixelSpacing) list.push(e(0x00280030, 'DS', spec.pixelSpacing.map(ds).join('\\')));
  if (spec.imagerPixelSpacing) list.push(e(0x00181164, 'DS', spec.imagerPixelSpacing.map(ds).join('\\')));
  if (spec.component) {
    list.push(e(0x00100010, 'PN', spec.component.name), e(0x00100020, 'LO', spec.component.id));
    list.push(e(0x00140025, 'ST', spec.component.manufacturingProcedure ?? 'weld'));
  }
  if (spec.operatorsName) list.push(e(0x00081070, 'PN', spec.operatorsName));
  if (spec.referringPhysicianName) list.push(e(0x00080090, 'PN', spec.referringPhysicianName));
  return [...list, ...(spec.extra ?? [])];
}
