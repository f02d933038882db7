import { inflateRawSync } from 'node:zlib';
// dicom-parser (cornerstone): small, no dependencies, reads Part 10 in implicit and explicit VR
// little endian, explicit VR big endian and (with an inflater) deflated syntaxes, and leaves pixel
// decoding to the caller, which is what is needed here; dcmjs would bring a full data model and
// writer that Chitti does not use.
import dicomParser, { type DataSet, type Element, type ParseDicomOptions } from 'dicom-parser';
import { type DicomHeader, PIXEL_SPACING_RANGE_MM, type PixelSpacingMm } from '../../schemas/events/file.js';
import { headerText, readAcquired } from './header-text.js';
import { isUncompressed, nonImageSopClass, transferSyntaxName } from './uids.js';

/** Why a DICOM file is refused. */
export type DicomRefusal =
  | 'not-dicom'
  | 'corrupt'
  | 'unsupported-transfer-syntax'
  | 'unsupported-pixel-format'
  | 'multi-frame'
  | 'not-an-image'
  | 'too-large';

/** What InspectionFailed records for each refusal (the codes `inference/preprocess.ts` uses). */
const FAILURE_CODE = {
  'not-dicom': 'corrupt-image',
  corrupt: 'corrupt-image',
  'unsupported-transfer-syntax': 'unsupported-media',
  'unsupported-pixel-format': 'unsupported-media',
  'multi-frame': 'unsupported-media',
  'not-an-image': 'unsupported-media',
  'too-large': 'decompression-bomb',
} as const;

export class DicomError extends Error {
  constructor(
    readonly refusal: DicomRefusal,
    message: string,
  ) {
    super(message);
  }

  get failureCode(): (typeof FAILURE_CODE)[DicomRefusal] {
    return FAILURE_CODE[this.refusal];
  }
}

/** How the bytes announce DICOM Part 10: "DICM" after the 128-byte preamble, or at the start without one. */
export type DicomSignature = 'part10' | 'no-preamble';

const isDicm = (bytes: Uint8Array, at: number) =>
  bytes[at] === 0x44 && bytes[at + 1] === 0x49 && bytes[at + 2] === 0x43 && bytes[at + 3] === 0x4d;
const isUpper = (byte: number | undefined) => byte !== undefined && byte >= 0x41 && byte <= 0x5a;
/** An explicit VR element of the file meta group (0002,xxxx) starts here. */
const metaElementAt = (bytes: Uint8Array, at: number) =>
  bytes[at] === 0x02 &&
  bytes[at + 1] === 0x00 &&
  bytes[at + 3] === 0x00 &&
  isUpper(bytes[at + 4]) &&
  isUpper(bytes[at + 5]);

export function sniffDicom(bytes: Uint8Array): DicomSignature | undefined {
  if (bytes.length >= 132 && isDicm(bytes, 128)) return 'part10';
  if (bytes.length >= 4 && isDicm(bytes, 0)) return 'no-preamble';
  return undefined;
}

/**
 * A file meta group right after a 128-byte preamble, with "DICM" missing or wrong: broken DICOM,
 * worth a precise refusal. Ask only after the other image signatures failed (any bytes can sit at 128).
 */
export const isDicomWithoutPrefix = (bytes: Uint8Array): boolean =>
  bytes.length >= 138 && (metaElementAt(bytes, 128) || metaElementAt(bytes, 132));

export interface ReadDicomOptions {
  /** Refuse more pixels than this, from the header, before touching the pixel data. */
  readonly maxPixels: number;
  /** Cap on the inflated size of a deflated data set (default: room for maxPixels 16-bit samples + 16 MiB). */
  readonly maxInflatedBytes?: number;
}

export interface DisplayWindow {
  readonly low: number;
  readonly high: number;
}

/** A single-frame greyscale DICOM image, ready for windowing. */
export interface DicomImage {
  /** The allow-listed header, as FileUploaded records it. */
  readonly header: DicomHeader;
  readonly width: number;
  readonly height: number;
  readonly bitDepth: 8 | 16;
  readonly pixelSpacingMm: PixelSpacingMm | null;
  /**
   * Display samples, one per pixel, row by row: the stored value (masked to BitsStored at HighBit,
   * sign-extended) shifted to unsigned, and flipped when the display is inverted (MONOCHROME1 or
   * PresentationLUTShape INVERSE, or a negative RescaleSlope), so that higher always means brighter.
   */
  readonly samples: Uint16Array;
  /**
   * The window to show the samples with, in sample units: the header's WindowCenter/Width when it
   * fits the pixels, the full range for 8-bit data; null means "use a percentile window".
   */
  readonly window: DisplayWindow | null;
  /** A sample-unit window in the file's output units (after rescale): low shows black, high white. */
  toOutputUnits(window: DisplayWindow): DisplayWindow;
  /** The output value (after RescaleSlope/Intercept) of a display sample. */
  outputValue(sample: number): number;
  /** The display is inverted (MONOCHROME1 or PresentationLUTShape INVERSE). */
  readonly inverted: boolean;
}

const MONOCHROME = new Set(['MONOCHROME1', 'MONOCHROME2']);

/**
 * Parses DICOM Part 10 bytes (with or without the 128-byte preamble) with dicom-parser and reads
 * its one greyscale frame. Refuses, with a DicomError naming the reason: anything that is not Part
 * 10, an unparseable or truncated data set, non-image SOP classes, compressed transfer syntaxes,
 * more pixels than `maxPixels` (checked on the header, before the pixel data), multi-frame files,
 * colour, and pixel data shorter than the header needs.
 */
export function readDicom(bytes: Uint8Array, options: ReadDicomOptions): DicomImage {
  try {
    return read(bytes, options);
  } catch (error) {
    if (error instanceof DicomError) throw error;
    // Whatever else a malformed header makes the parser or a value accessor throw is still bad input.
    const message = error instanceof Error ? error.message : String(error);
    throw new DicomError('corrupt', `the DICOM data set cannot be read (${message.replace(/^dicomParser\.?/, '')})`);
  }
}

function read(bytes: Uint8Array, options: ReadDicomOptions): DicomImage {
  const signature = sniffDicom(bytes);
  if (signature === undefined) {
    throw new DicomError(
      'not-dicom',
      isDicomWithoutPrefix(bytes)
        ? 'the 128-byte preamble is not followed by "DICM": not a DICOM Part 10 file'
        : 'no "DICM" prefix at byte 128: not a DICOM Part 10 file',
    );
  }
  const part10 = signature === 'part10' ? bytes : withPreamble(bytes);
  const dataSet = parse(part10, options.maxInflatedBytes ?? options.maxPixels * 2 + 16 * 1024 * 1024);

  const transferSyntaxUid = dataSet.string('x00020010') ?? '';
  if (!transferSyntaxUid) throw new DicomError('corrupt', 'the file meta group names no transfer syntax (0002,0010)');
  const sopClassUid = uid(dataSet, 'x00080016') ?? uid(dataSet, 'x00020002');
  const sopInstanceUid = uid(dataSet, 'x00080018') ?? uid(dataSet, 'x00020003');
  if (!sopClassUid || !sopInstanceUid) {
    throw new DicomError('corrupt', 'the file has no valid SOP Class UID and SOP Instance UID');
  }
  const nonImage = nonImageSopClass(sopClassUid);
  if (nonImage) throw new DicomError('not-an-image', `SOP class ${sopClassUid} (${nonImage}) holds no image`);
  const pixelData = dataSet.elements.x7fe00010;
  if (!pixelData) throw new DicomError('not-an-image', `the file (SOP class ${sopClassUid}) has no pixel data`);
  if (!isUncompressed(transferSyntaxUid)) {
    throw new DicomError(
      'unsupported-transfer-syntax',
      `transfer syntax ${transferSyntaxName(transferSyntaxUid)} (${transferSyntaxUid}) is compressed or unknown; ` +
        'Chitti reads uncompressed DICOM (implicit or explicit VR little endian, explicit VR big endian, deflated): ' +
        'decompress it first, e.g. with dcmdjpeg, dcmdjp2k or dcmdrle',
    );
  }

  const rows = dataSet.uint16('x00280010') ?? 0;
  const columns = dataSet.uint16('x00280011') ?? 0;
  if (rows === 0 || columns === 0) throw new DicomError('corrupt', 'the header gives no Rows/Columns');
  const frames = dataSet.intString('x00280008') ?? 1;
  if (rows * columns * Math.max(1, frames) > options.maxPixels) {
    throw new DicomError(
      'too-large',
      `the header claims ${columns}×${rows} pixels${frames > 1 ? ` × ${frames} frames` : ''}, more than the limit of ${options.maxPixels}`,
    );
  }
  if (frames !== 1) {
    throw new DicomError(
      'multi-frame',
      `the file holds ${frames} frames; Chitti inspects single-frame images: split the frames into files first`,
    );
  }
  const samplesPerPixel = dataSet.uint16('x00280002') ?? 1;
  const photometric = dataSet.string('x00280004') ?? '';
  if (samplesPerPixel !== 1 || !MONOCHROME.has(photometric)) {
    throw new DicomError(
      'unsupported-pixel-format',
      `photometric interpretation ${photometric || '(none)'} with ${samplesPerPixel} samples per pixel: only greyscale (MONOCHROME1/MONOCHROME2) is supported`,
    );
  }
  const bitsAllocated = dataSet.uint16('x00280100');
  if (bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw new DicomError('unsupported-pixel-format', `BitsAllocated ${bitsAllocated ?? '(none)'}: only 8 or 16`);
  }
  const bitsStored = dataSet.uint16('x00280101') ?? bitsAllocated;
  const highBit = dataSet.uint16('x00280102') ?? bitsStored - 1;
  const pixelRepresentation = dataSet.uint16('x00280103') ?? 0;
  if (bitsStored < 1 || bitsStored > bitsAllocated || highBit >= bitsAllocated || highBit + 1 < bitsStored) {
    throw new DicomError(
      'corrupt',
      `BitsStored ${bitsStored} / HighBit ${highBit} do not fit BitsAllocated ${bitsAllocated}`,
    );
  }
  if (pixelRepresentation !== 0 && pixelRepresentation !== 1) {
    throw new DicomError('corrupt', `PixelRepresentation ${pixelRepresentation} is neither 0 nor 1`);
  }
  checkPixelDataLength(dataSet, pixelData, rows * columns * (bitsAllocated / 8));

  const slope = dataSet.floatString('x00281053') ?? 1;
  const intercept = dataSet.floatString('x00281052') ?? 0;
  if (!Number.isFinite(slope) || slope === 0 || !Number.isFinite(intercept)) {
    throw new DicomError('corrupt', 'RescaleSlope must be a non-zero number and RescaleIntercept a number');
  }
  const shape = dataSet.string('x20500020');
  const presentationLutShape = shape === 'IDENTITY' || shape === 'INVERSE' ? shape : null;
  // MONOCHROME1 and INVERSE both say "lowest value is white"; DX requires INVERSE with MONOCHROME1,
  // so the two name one inversion, applied once.
  const inverted = photometric === 'MONOCHROME1' || presentationLutShape === 'INVERSE';
  const signed = pixelRepresentation === 1;
  const storedMin = signed ? -(2 ** (bitsStored - 1)) : 0;
  const sampleMax = 2 ** bitsStored - 1;
  const flip = inverted !== slope < 0;

  const samples = decodeSamples(dataSet, pixelData, {
    count: rows * columns,
    bitsAllocated,
    bitsStored,
    highBit,
    signed,
    bigEndian: transferSyntaxUid === '1.2.840.10008.1.2.2',
    flip,
  });
  const outputValue = (sample: number) => slope * ((flip ? sampleMax - sample : sample) + storedMin) + intercept;
  const sampleOf = (output: number) => {
    const unsigned = (output - intercept) / slope - storedMin;
    return flip ? sampleMax - unsigned : unsigned;
  };

  const voi = headerWindow(dataSet);
  let window: DisplayWindow | null = null;
  let voiUsed = false;
  if (voi) {
    // DICOM's linear VOI function: black at or below c - 0.5 - (w-1)/2, white above c - 0.5 + (w-1)/2.
    const a = sampleOf(voi.center - 0.5 - (voi.width - 1) / 2);
    const b = sampleOf(voi.center - 0.5 + (voi.width - 1) / 2);
    const candidate = { low: Math.min(a, b), high: Math.max(a, b) };
    voiUsed = windowFitsPixels(samples, candidate);
    if (voiUsed) window = candidate;
  }
  if (!window && bitsStored <= 8) window = { low: 0, high: sampleMax };

  const spacing = readPixelSpacing(dataSet);
  const header: DicomHeader = {
    sopInstanceUid,
    sopClassUid,
    transferSyntaxUid,
    modality: headerText(dataSet.string('x00080060')),
    manufacturer: headerText(dataSet.string('x00080070')),
    manufacturerModelName: headerText(dataSet.string('x00081090')),
    acquired: readAcquired(dataSet),
    rows,
    columns,
    bitsAllocated,
    bitsStored,
    signed,
    photometricInterpretation: photometric as 'MONOCHROME1' | 'MONOCHROME2',
    presentationLutShape,
    rescale: { slope, intercept },
    voiWindow: voi ? { ...voi, used: voiUsed } : null,
    pixelSpacingTag: spacing?.tag ?? null,
    component: componentOf(dataSet),
  };
  return {
    header,
    width: columns,
    height: rows,
    bitDepth: bitsAllocated,
    pixelSpacingMm: spacing?.mm ?? null,
    samples,
    window,
    inverted,
    outputValue,
    toOutputUnits: (w) => ({ low: outputValue(w.low), high: outputValue(w.high) }),
  };
}

function withPreamble(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + 128);
  out.set(bytes, 128);
  return out;
}

function parse(bytes: Uint8Array, maxInflatedBytes: number): DataSet {
  const inflater = (array: Uint8Array, position: number): Uint8Array => {
    let inflated: Buffer;
    try {
      inflated = inflateRawSync(array.subarray(position), { maxOutputLength: maxInflatedBytes });
    } catch (error) {
      if (error instanceof RangeError) {
        throw new DicomError('too-large', `the deflated data set inflates to more than ${maxInflatedBytes} bytes`);
      }
      throw new DicomError('corrupt', 'the deflated data set cannot be inflated');
    }
    const full = new Uint8Array(position + inflated.length);
    full.set(array.subarray(0, position));
    full.set(inflated, position);
    return full;
  };
  try {
    // Parsing stops at the pixel data element: its length is checked against the file here, not by a
    // read past the end. (dicom-parser's typings declare the inflater as returning void; it uses the
    // returned bytes, hence the cast.)
    return dicomParser.parseDicom(bytes, { untilTag: 'x7fe00010', inflater } as unknown as ParseDicomOptions);
  } catch (error) {
    const cause = (error as { exception?: unknown })?.exception ?? error;
    if (cause instanceof DicomError) throw cause;
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new DicomError('corrupt', `the DICOM data set cannot be read (${message.replace(/^dicomParser\.?/, '')})`);
  }
}

const UID = /^[0-9]+(\.[0-9]+)*$/;
function uid(dataSet: DataSet, tag: string): string | undefined {
  const value = dataSet.string(tag)?.replace(/\0+$/, '').trim();
  return value && value.length <= 64 && UID.test(value) ? value : undefined;
}

function checkPixelDataLength(dataSet: DataSet, element: Element, needed: number): void {
  if (element.encapsulatedPixelData || element.hadUndefinedLength) {
    throw new DicomError('corrupt', 'encapsulated (compressed) pixel data in an uncompressed transfer syntax');
  }
  const available = dataSet.byteArray.length - element.dataOffset;
  if (element.length > available) {
    throw new DicomError(
      'corrupt',
      `the pixel data element claims ${element.length} bytes but the file has ${Math.max(0, available)} after its header (truncated or corrupt)`,
    );
  }
  if (element.length < needed) {
    throw new DicomError(
      'corrupt',
      `the pixel data holds ${element.length} bytes; the header's geometry needs ${needed}`,
    );
  }
}

interface SampleLayout {
  readonly count: number;
  readonly bitsAllocated: 8 | 16;
  readonly bitsStored: number;
  readonly highBit: number;
  readonly signed: boolean;
  readonly bigEndian: boolean;
  readonly flip: boolean;
}

function decodeSamples(dataSet: DataSet, element: Element, layout: SampleLayout): Uint16Array {
  const bytes = dataSet.byteArray;
  const start = element.dataOffset;
  const shift = layout.highBit + 1 - layout.bitsStored;
  const mask = 2 ** layout.bitsStored - 1;
  // Two's complement to offset binary: sign-extending and adding 2^(n-1) is flipping bit n-1.
  const signFlip = layout.signed ? 2 ** (layout.bitsStored - 1) : 0;
  const invert = layout.flip ? mask : 0;
  const out = new Uint16Array(layout.count);
  if (layout.bitsAllocated === 8) {
    for (let i = 0; i < layout.count; i++) out[i] = ((bytes[start + i]! >> shift) & mask) ^ signFlip ^ invert;
  } else if (layout.bigEndian) {
    for (let i = 0, p = start; i < layout.count; i++, p += 2) {
      out[i] = ((((bytes[p]! << 8) | bytes[p + 1]!) >> shift) & mask) ^ signFlip ^ invert;
    }
  } else {
    for (let i = 0, p = start; i < layout.count; i++, p += 2) {
      out[i] = (((bytes[p]! | (bytes[p + 1]! << 8)) >> shift) & mask) ^ signFlip ^ invert;
    }
  }
  return out;
}

function headerWindow(dataSet: DataSet): { center: number; width: number } | null {
  const center = dataSet.floatString('x00281050');
  const width = dataSet.floatString('x00281051');
  if (center === undefined || width === undefined || !Number.isFinite(center) || !(width >= 1)) return null;
  return { center, width };
}

/**
 * Real files carry WindowCenter/Width that do not match their pixels (seen on DICONDE weld
 * radiographs): the header's window is used only when it holds at least half of the pixels and is
 * at most four times as wide as their range; otherwise a percentile window is.
 */
function windowFitsPixels(samples: Uint16Array, window: DisplayWindow): boolean {
  let inside = 0;
  let min = 65535;
  let max = 0;
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i]!;
    if (v >= window.low && v <= window.high) inside++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return inside * 2 >= samples.length && window.high - window.low <= 4 * (max - min + 1);
}

function readPixelSpacing(
  dataSet: DataSet,
): { mm: PixelSpacingMm; tag: 'PixelSpacing' | 'ImagerPixelSpacing' } | undefined {
  // PixelSpacing is calibrated to the object; ImagerPixelSpacing is at the detector: prefer the former.
  for (const [tag, name] of [
    ['x00280030', 'PixelSpacing'],
    ['x00181164', 'ImagerPixelSpacing'],
  ] as const) {
    const row = dataSet.floatString(tag, 0);
    const column = dataSet.floatString(tag, 1);
    if (row === undefined || column === undefined) continue;
    const inRange = (v: number) => v >= PIXEL_SPACING_RANGE_MM.min && v <= PIXEL_SPACING_RANGE_MM.max;
    if (inRange(row) && inRange(column)) return { mm: { row, column }, tag: name };
  }
  return undefined;
}

/**
 * DICONDE identifies the inspected component in the Patient module. Only a file carrying DICONDE's
 * own attributes (group 0014) is taken to be DICONDE; in any other DICOM file those fields name a
 * person and are never read.
 */
function componentOf(dataSet: DataSet): DicomHeader['component'] {
  const diconde = Object.keys(dataSet.elements).some((tag) => tag.startsWith('x0014'));
  if (!diconde) return null;
  const id = headerText(dataSet.string('x00100020'));
  const name = headerText(dataSet.string('x00100010')?.replaceAll('^', ' '));
  return id === null && name === null ? null : { id, name };
}
