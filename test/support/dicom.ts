import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type DicomElement,
  dicomImage,
  type GreyImageSpec,
  TRANSFER_SYNTAX,
  writeDicom,
} from '../../inference/dicom/write.js';

export { dicomImage, TRANSFER_SYNTAX, writeDicom };

/** A fresh SOP Instance UID: a random UUID under the 2.25 root. */
export const testUid = (): string => `2.25.${BigInt(`0x${randomUUID().replaceAll('-', '')}`).toString()}`;

/** A single-frame greyscale DICOM file in the given transfer syntax (explicit VR LE by default). */
export function greyDicom(
  spec: Omit<GreyImageSpec, 'sopInstanceUid'> & { sopInstanceUid?: string },
  options: Partial<Parameters<typeof writeDicom>[1]> = {},
): Buffer {
  const elements = dicomImage({ sopInstanceUid: testUid(), ...spec });
  return Buffer.from(writeDicom(elements, { transferSyntaxUid: TRANSFER_SYNTAX.explicitLittle, ...options }));
}

/** A DICOM object with no pixel data (a structured report, a waveform): elements as given. */
export function objectWithoutPixels(sopClassUid: string, extra: readonly DicomElement[] = []): Buffer {
  const elements: DicomElement[] = [
    { tag: 0x00080016, vr: 'UI', value: sopClassUid },
    { tag: 0x00080018, vr: 'UI', value: testUid() },
    { tag: 0x00080060, vr: 'CS', value: 'SR' },
    ...extra,
  ];
  return Buffer.from(writeDicom(elements, { transferSyntaxUid: TRANSFER_SYNTAX.explicitLittle }));
}

/** A ramp of `count` stored values spread over [min, max]. */
export function ramp(count: number, min: number, max: number): number[] {
  return Array.from({ length: count }, (_, i) => Math.round(min + ((max - min) * i) / Math.max(1, count - 1)));
}

function withTempFile<T>(bytes: Uint8Array, use: (path: string, dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'chitti-dicom-'));
  try {
    const path = join(dir, 'in.dcm');
    writeFileSync(path, bytes);
    return use(path, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * DCMTK's rendering (dcm2pnm) of the file through a linear VOI window `center`/`width` to 16-bit
 * values: rescale, sign and bit handling, and MONOCHROME1 / Presentation LUT inversion as DCMTK
 * implements them. Throws when dcmtk is not installed (tests fail, never skip).
 */
export function dcmtkRender(bytes: Uint8Array, center: number, width: number): number[] {
  return withTempFile(bytes, (path, dir) => {
    const out = join(dir, 'out.pgm');
    execFileSync('dcm2pnm', ['+opw', '+Ww', String(center), String(width), path, out], { stdio: 'pipe' });
    const [magic, _w, _h, _max, ...values] = readFileSync(out, 'utf8').trim().split(/\s+/);
    if (magic !== 'P2') throw new Error(`dcm2pnm wrote ${magic}, not an ASCII PGM`);
    return values.map(Number);
  });
}

/** What pydicom reads from the file: header fields and, after its modality LUT, the pixel values. */
export interface PydicomView {
  readonly rows: number;
  readonly columns: number;
  readonly sopInstanceUid: string;
  readonly transferSyntaxUid: string;
  readonly pixelSpacing: number[] | null;
  readonly imagerPixelSpacing: number[] | null;
  readonly modalityValues: number[];
}

const PYDICOM_SCRIPT = `
import json, sys
import pydicom
from pydicom.pixel_data_handlers.util import apply_modality_lut
ds = pydicom.dcmread(sys.argv[1], force=True)
values = apply_modality_lut(ds.pixel_array, ds).ravel().tolist()
spacing = lambda k: [float(v) for v in ds[k].value] if k in ds else None
print(json.dumps({
  "rows": int(ds.Rows), "columns": int(ds.Columns), "sopInstanceUid": str(ds.SOPInstanceUID),
  "transferSyntaxUid": str(ds.file_meta.TransferSyntaxUID),
  "pixelSpacing": spacing("PixelSpacing"), "imagerPixelSpacing": spacing("ImagerPixelSpacing"),
  "modalityValues": values,
}))
`;

/** pydicom's (Debian python3-pydicom, /usr/bin/python3) reading of the file; throws when it is missing. */
export function pydicomRead(bytes: Uint8Array): PydicomView {
  return withTempFile(bytes, (path) =>
    JSON.parse(execFileSync('/usr/bin/python3', ['-c', PYDICOM_SCRIPT, path], { encoding: 'utf8', stdio: 'pipe' })),
  );
}
