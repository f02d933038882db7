import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DicomError, type DicomImage, type DicomRefusal, readDicom, sniffDicom } from '../../inference/dicom/index.js';
import { SOP_CLASS } from '../../inference/dicom/uids.js';
import type { GreyImageSpec } from '../../inference/dicom/write.js';
import {
  dcmtkRender,
  greyDicom,
  objectWithoutPixels,
  pydicomRead,
  ramp,
  TRANSFER_SYNTAX,
  testUid,
} from '../support/dicom.js';

const MAX_PIXELS = 1_000_000;
const read = (bytes: Uint8Array, maxPixels = MAX_PIXELS) => readDicom(bytes, { maxPixels });

function refusalOf(bytes: Uint8Array, maxPixels = MAX_PIXELS): DicomError {
  try {
    read(bytes, maxPixels);
  } catch (error) {
    if (error instanceof DicomError) return error;
    throw error;
  }
  throw new Error('the file was accepted');
}

const expectRefused = (bytes: Uint8Array, refusal: DicomRefusal, message: RegExp, maxPixels?: number) => {
  const error = refusalOf(bytes, maxPixels);
  expect({ refusal: error.refusal, message: error.message }).toEqual({
    refusal,
    message: expect.stringMatching(message),
  });
};

/** Our display of the image through a DICOM linear VOI window, as 16-bit values (what dcm2pnm +opw writes). */
function renderLikeDcmtk(image: DicomImage, center: number, width: number): number[] {
  return Array.from(image.samples, (sample) => {
    const m = image.outputValue(sample);
    const y = Math.min(1, Math.max(0, (m - (center - 0.5)) / (width - 1) + 0.5)) * 65535;
    return image.inverted ? 65535 - y : y;
  });
}

/** A window spanning exactly the image's output values, so no value is clipped. */
function fullWindow(image: DicomImage): { center: number; width: number } {
  const values = Array.from(image.samples, (s) => image.outputValue(s));
  const low = Math.min(...values);
  const high = Math.max(...values);
  return { center: (low + high) / 2 + 0.5, width: high - low + 1 };
}

const W = 16;
const H = 8;
const N = W * H;

const variants: Record<string, Omit<GreyImageSpec, 'sopInstanceUid'>> = {
  '16-bit unsigned, full range': { rows: H, columns: W, bitsAllocated: 16, stored: ramp(N, 0, 65535) },
  '12-bit unsigned in 16': { rows: H, columns: W, bitsAllocated: 16, bitsStored: 12, stored: ramp(N, 0, 4095) },
  '12-bit at HighBit 13': {
    rows: H,
    columns: W,
    bitsAllocated: 16,
    bitsStored: 12,
    highBit: 13,
    stored: ramp(N, 5, 4090),
  },
  '12-bit signed with rescale 2/-10': {
    rows: H,
    columns: W,
    bitsAllocated: 16,
    bitsStored: 12,
    signed: true,
    stored: ramp(N, -2048, 2047),
    rescale: { slope: 2, intercept: -10 },
  },
  '16-bit signed, intercept -1024': {
    rows: H,
    columns: W,
    bitsAllocated: 16,
    signed: true,
    stored: ramp(N, -32768, 32767),
    rescale: { slope: 1, intercept: -1024 },
  },
  '16-bit, fractional slope': {
    rows: H,
    columns: W,
    bitsAllocated: 16,
    stored: ramp(N, 100, 60000),
    rescale: { slope: 0.25, intercept: 3.5 },
  },
  '16-bit, negative slope': {
    rows: H,
    columns: W,
    bitsAllocated: 16,
    stored: ramp(N, 100, 60000),
    rescale: { slope: -1, intercept: 65535 },
  },
  '8-bit MONOCHROME2': { rows: H, columns: W, bitsAllocated: 8, stored: ramp(N, 0, 255) },
  '8-bit MONOCHROME1': { rows: H, columns: W, bitsAllocated: 8, stored: ramp(N, 3, 250), photometric: 'MONOCHROME1' },
  '16-bit MONOCHROME1': {
    rows: H,
    columns: W,
    bitsAllocated: 16,
    stored: ramp(N, 1000, 50000),
    photometric: 'MONOCHROME1',
  },
  'MONOCHROME2 with PresentationLUTShape INVERSE': {
    rows: H,
    columns: W,
    bitsAllocated: 16,
    stored: ramp(N, 1000, 50000),
    presentationLutShape: 'INVERSE',
  },
  'MONOCHROME1 with PresentationLUTShape INVERSE (one inversion)': {
    rows: H,
    columns: W,
    bitsAllocated: 16,
    stored: ramp(N, 1000, 50000),
    photometric: 'MONOCHROME1',
    presentationLutShape: 'INVERSE',
  },
  'MONOCHROME2 with PresentationLUTShape IDENTITY': {
    rows: H,
    columns: W,
    bitsAllocated: 16,
    stored: ramp(N, 1000, 50000),
    presentationLutShape: 'IDENTITY',
  },
};

const syntaxes: Record<string, { transferSyntaxUid: string; preamble?: boolean }> = {
  'implicit VR LE': { transferSyntaxUid: TRANSFER_SYNTAX.implicitLittle },
  'explicit VR LE': { transferSyntaxUid: TRANSFER_SYNTAX.explicitLittle },
  'explicit VR BE': { transferSyntaxUid: TRANSFER_SYNTAX.explicitBig },
  'deflated explicit VR LE': { transferSyntaxUid: TRANSFER_SYNTAX.deflatedExplicitLittle },
  'explicit VR LE without preamble': { transferSyntaxUid: TRANSFER_SYNTAX.explicitLittle, preamble: false },
};

describe('readDicom against DCMTK (dcm2pnm) as the reference decoder', () => {
  const cases = Object.entries(variants).flatMap(([variant, spec]) =>
    Object.entries(syntaxes).map(([syntax, options]) => [variant, syntax, spec, options] as const),
  );
  it.each(cases)('%s, %s: every pixel after rescale and inversion equals DCMTK’s', (_v, _s, spec, options) => {
    const bytes = greyDicom(spec, options);
    const image = read(bytes);
    expect({ width: image.width, height: image.height, bitDepth: image.bitDepth }).toEqual({
      width: W,
      height: H,
      bitDepth: spec.bitsAllocated,
    });
    const { center, width } = fullWindow(image);
    // dcm2pnm does not read files without a preamble: it gets the same data set with one.
    const reference = dcmtkRender(
      options.preamble === false ? greyDicom({ ...spec, sopInstanceUid: image.header.sopInstanceUid }) : bytes,
      center,
      width,
    );
    const ours = renderLikeDcmtk(image, center, width);
    expect(reference).toHaveLength(N);
    const worst = Math.max(...ours.map((v, i) => Math.abs(v - reference[i]!)));
    // 16-bit rounding; with a fractional slope DCMTK also rounds the rescaled values to whole output
    // units (one unit = 65535 / (width - 1) here). pydicom checks those values exactly below.
    const slope = spec.rescale?.slope ?? 1;
    expect(worst).toBeLessThanOrEqual(Number.isInteger(slope) ? 1 : 1 + 65535 / (width - 1));
    // The ramp really spans the range (a constant image would pass trivially).
    expect(Math.max(...reference) - Math.min(...reference)).toBeGreaterThan(60000);
  });
});

describe('readDicom against pydicom', () => {
  const fullWidth = Object.entries(variants).filter(
    ([, spec]) => (spec.bitsStored ?? spec.bitsAllocated) === spec.bitsAllocated,
  );
  it.each(fullWidth)('%s: output values (after RescaleSlope/Intercept) equal pydicom’s modality LUT', (_v, spec) => {
    for (const options of Object.values(syntaxes).filter((o) => o.preamble !== false)) {
      const bytes = greyDicom({ ...spec, pixelSpacing: [0.1, 0.12], imagerPixelSpacing: [0.2, 0.2] }, options);
      const image = read(bytes);
      const reference = pydicomRead(bytes);
      // Each pixel's output value, whatever display order the samples are kept in.
      const ours = Array.from(image.samples, (sample) => image.outputValue(sample));
      expect(ours).toEqual(reference.modalityValues);
      expect(image.header).toMatchObject({
        rows: reference.rows,
        columns: reference.columns,
        sopInstanceUid: reference.sopInstanceUid,
        transferSyntaxUid: reference.transferSyntaxUid,
        pixelSpacingTag: 'PixelSpacing',
      });
      expect(image.pixelSpacingMm).toEqual({ row: reference.pixelSpacing![0], column: reference.pixelSpacing![1] });
    }
  });
});

describe('display samples and window', () => {
  it('orders samples so that higher is brighter, whatever the photometric interpretation', () => {
    const stored = ramp(N, 1000, 50000);
    const mono2 = read(greyDicom({ rows: H, columns: W, bitsAllocated: 16, stored }));
    const mono1 = read(greyDicom({ rows: H, columns: W, bitsAllocated: 16, stored, photometric: 'MONOCHROME1' }));
    expect(mono2.samples[0]).toBeLessThan(mono2.samples[N - 1]!);
    expect(mono1.samples[0]).toBeGreaterThan(mono1.samples[N - 1]!);
    expect(mono1.inverted).toBe(true);
  });

  it('uses the header’s WindowCenter/Width when it fits the pixels, in output units', () => {
    const image = read(
      greyDicom({
        rows: H,
        columns: W,
        bitsAllocated: 16,
        stored: ramp(N, 10000, 20000),
        rescale: { slope: 2, intercept: -100 },
        window: { center: 29900, width: 20001 },
      }),
    );
    expect(image.header.voiWindow).toEqual({ center: 29900, width: 20001, used: true });
    expect(image.window).not.toBeNull();
    // DICOM's linear VOI: black at c - 0.5 - (w-1)/2, white at c - 0.5 + (w-1)/2.
    expect(image.toOutputUnits(image.window!)).toEqual({ low: 29899.5 - 10000, high: 29899.5 + 10000 });
  });

  it('ignores a header window that does not match the pixels and says so', () => {
    const image = read(
      greyDicom({
        rows: H,
        columns: W,
        bitsAllocated: 16,
        stored: ramp(N, 30000, 31000),
        window: { center: 2000, width: 1000 },
      }),
    );
    expect(image.header.voiWindow).toEqual({ center: 2000, width: 1000, used: false });
    expect(image.window).toBeNull(); // the caller takes a percentile window
  });

  it('shows 8-bit data over its full range when the header has no window', () => {
    const image = read(greyDicom({ rows: H, columns: W, bitsAllocated: 8, stored: ramp(N, 0, 255) }));
    expect(image.window).toEqual({ low: 0, high: 255 });
  });
});

describe('the recorded header is an allow-list', () => {
  const spec = {
    rows: H,
    columns: W,
    bitsAllocated: 16 as const,
    stored: ramp(N, 0, 4000),
    manufacturer: 'Panel Co',
    manufacturerModelName: 'FP-2020',
    acquisitionDate: '20261120',
    acquisitionTime: '091403.25',
    imagerPixelSpacing: [0.2, 0.2] as const,
    operatorsName: 'Doe^Jane',
    referringPhysicianName: 'Roe^Richard',
  };

  it('records DICONDE component identification and never a personal name', () => {
    const image = read(greyDicom({ ...spec, component: { id: 'PIPE-7-W42', name: 'Pipe 7^weld 42' } }));
    expect(image.header).toMatchObject({
      modality: 'DX',
      manufacturer: 'Panel Co',
      manufacturerModelName: 'FP-2020',
      acquired: { at: '2026-11-20T09:14:03.25', source: 'AcquisitionDate' },
      sopClassUid: SOP_CLASS.digitalXRayForPresentation,
      pixelSpacingTag: 'ImagerPixelSpacing',
      component: { id: 'PIPE-7-W42', name: 'Pipe 7 weld 42' },
    });
    expect(image.pixelSpacingMm).toEqual({ row: 0.2, column: 0.2 });
    const text = JSON.stringify(image.header);
    expect(text).not.toMatch(/Doe|Jane|Roe|Richard/);
  });

  it('drops the Patient module of a DICOM file that is not DICONDE: there it names a person', () => {
    const image = read(
      greyDicom({
        ...spec,
        extra: [
          { tag: 0x00100010, vr: 'PN', value: 'Smith^Anna' },
          { tag: 0x00100020, vr: 'LO', value: 'MRN-55' },
        ],
      }),
    );
    expect(image.header.component).toBeNull();
    expect(JSON.stringify(image.header)).not.toMatch(/Smith|Anna|MRN-55/);
  });

  it('records no pixel spacing when the header has none (never a guess)', () => {
    const image = read(greyDicom({ rows: H, columns: W, bitsAllocated: 16, stored: ramp(N, 0, 9) }));
    expect(image.pixelSpacingMm).toBeNull();
    expect(image.header.pixelSpacingTag).toBeNull();
  });
});

describe('refusals name their reason', () => {
  const good = () => greyDicom({ rows: H, columns: W, bitsAllocated: 16, stored: ramp(N, 0, 65535) });

  it('a truncated file (cut inside the pixel data)', () => {
    const bytes = good();
    expectRefused(
      bytes.subarray(0, bytes.length - 50),
      'corrupt',
      /pixel data element claims 256 bytes but the file has 206/,
    );
  });

  it('a file cut inside its header', () => {
    expectRefused(good().subarray(0, 200), 'corrupt', /cannot be read/);
  });

  it('a preamble without "DICM"', () => {
    const bytes = greyDicom({ rows: H, columns: W, bitsAllocated: 16, stored: [1] }, { prefix: 'XXXX' });
    expect(sniffDicom(bytes)).toBeUndefined();
    expectRefused(bytes, 'not-dicom', /preamble is not followed by "DICM"/);
  });

  it('a pixel data element longer than the file', () => {
    const bytes = greyDicom({ rows: H, columns: W, bitsAllocated: 16, stored: [1] }, { pixelDataLengthField: 1 << 30 });
    expectRefused(bytes, 'corrupt', /pixel data element claims 1073741824 bytes/);
  });

  it('pixel data shorter than the geometry needs', () => {
    const bytes = greyDicom({
      rows: H,
      columns: W,
      bitsAllocated: 16,
      stored: [1],
      extra: [],
    });
    // Same file claiming twice the rows.
    const lying = Buffer.from(bytes);
    const rowsAt = lying.indexOf(Buffer.from([0x28, 0x00, 0x10, 0x00, 0x55, 0x53, 0x02, 0x00]));
    lying.writeUInt16LE(H * 2, rowsAt + 8);
    expectRefused(lying, 'corrupt', /pixel data holds 256 bytes; the header's geometry needs 512/);
  });

  it('65535×65535 in the header, before any pixel is read', () => {
    const bytes = greyDicom({ rows: 65535, columns: 65535, bitsAllocated: 16, stored: [], writtenSamples: 8 });
    expectRefused(bytes, 'too-large', /65535×65535 pixels, more than the limit of 1000000/);
  });

  it.each([
    [SOP_CLASS.basicTextSr, /Structured Report/],
    [SOP_CLASS.twelveLeadEcg, /Waveform/],
  ])('a non-image SOP class (%s)', (sopClass, name) => {
    expectRefused(objectWithoutPixels(sopClass), 'not-an-image', name);
  });

  it('an image SOP class without pixel data', () => {
    expectRefused(objectWithoutPixels(SOP_CLASS.secondaryCapture), 'not-an-image', /has no pixel data/);
  });

  it.each([
    ['JPEG Baseline', TRANSFER_SYNTAX.jpegBaseline],
    ['JPEG Lossless SV1', TRANSFER_SYNTAX.jpegLossless],
    ['JPEG-LS Lossless', TRANSFER_SYNTAX.jpegLs],
    ['JPEG 2000 Lossless', TRANSFER_SYNTAX.jpeg2000],
    ['RLE Lossless', TRANSFER_SYNTAX.rle],
  ])('compressed transfer syntax %s, named', (name, uid) => {
    const bytes = greyDicom({ rows: H, columns: W, bitsAllocated: 16, stored: [1] }, { transferSyntaxUid: uid });
    expectRefused(bytes, 'unsupported-transfer-syntax', new RegExp(`${name} \\(${uid.replaceAll('.', '\\.')}\\)`));
  });

  it('a file DCMTK compressed to RLE (dcmcrle), named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chitti-rle-'));
    try {
      writeFileSync(join(dir, 'in.dcm'), good());
      execFileSync('dcmcrle', [join(dir, 'in.dcm'), join(dir, 'out.dcm')], { stdio: 'pipe' });
      expectRefused(
        readFileSync(join(dir, 'out.dcm')),
        'unsupported-transfer-syntax',
        /RLE Lossless \(1\.2\.840\.10008\.1\.2\.5\)/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a multi-frame file', () => {
    const bytes = greyDicom({ rows: H, columns: W, bitsAllocated: 16, stored: ramp(3 * N, 0, 9), frames: 3 });
    expectRefused(bytes, 'multi-frame', /holds 3 frames/);
  });

  it('colour', () => {
    const bytes = greyDicom({ rows: H, columns: W, bitsAllocated: 8, stored: ramp(3 * N, 0, 9), photometric: 'RGB' });
    expectRefused(bytes, 'unsupported-pixel-format', /RGB with 3 samples per pixel/);
  });

  it('a deflated data set that inflates past the limit', () => {
    const bytes = greyDicom(
      { rows: 512, columns: 512, bitsAllocated: 16, stored: [] },
      { transferSyntaxUid: TRANSFER_SYNTAX.deflatedExplicitLittle },
    );
    expect(() => readDicom(bytes, { maxPixels: 1_000_000, maxInflatedBytes: 100_000 })).toThrow(
      /inflates to more than 100000 bytes/,
    );
  });

  it('an invalid SOP Instance UID', () => {
    expectRefused(
      greyDicom({ rows: H, columns: W, bitsAllocated: 16, stored: [1], sopInstanceUid: 'not a uid' }),
      'corrupt',
      /no valid SOP Class UID and SOP Instance UID/,
    );
  });

  it('keeps unique test UIDs', () => {
    expect(testUid()).not.toBe(testUid());
  });
});

describe('any damaged file is refused with a DicomError, never another exception', () => {
  const seeds = [
    greyDicom({ rows: H, columns: W, bitsAllocated: 16, stored: ramp(N, 0, 65535), window: { center: 9, width: 3 } }),
    greyDicom(
      { rows: H, columns: W, bitsAllocated: 8, stored: ramp(N, 0, 255), pixelSpacing: [0.1, 0.1] },
      { transferSyntaxUid: TRANSFER_SYNTAX.implicitLittle },
    ),
    greyDicom(
      { rows: H, columns: W, bitsAllocated: 16, bitsStored: 12, signed: true, stored: ramp(N, -2048, 2047) },
      { transferSyntaxUid: TRANSFER_SYNTAX.explicitBig },
    ),
    greyDicom(
      { rows: H, columns: W, bitsAllocated: 16, stored: ramp(N, 0, 9) },
      { transferSyntaxUid: TRANSFER_SYNTAX.deflatedExplicitLittle },
    ),
  ];
  it('holds for random byte edits and truncations of valid files', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: seeds.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat(), { nil: undefined }),
        (which, edits, cut) => {
          const bytes = Buffer.from(seeds[which]!);
          // Edits land after the preamble, mostly in the header where they do harm.
          for (const [at, value] of edits) bytes[132 + (at % Math.min(400, bytes.length - 132))] = value;
          const damaged = cut === undefined ? bytes : bytes.subarray(0, cut % bytes.length);
          try {
            read(damaged);
          } catch (error) {
            expect(error).toBeInstanceOf(DicomError);
          }
        },
      ),
      { numRuns: 1500, seed: 4242 },
    );
  });
});
