// Makes the README's DICOM sample, inference/samples/weld-9000000.dcm, from the 16-bit PNG sample
// weld-9000000.png: the same pixels as a 16-bit DICONDE digital radiograph (DX, explicit VR little
// endian, MONOCHROME2, ImagerPixelSpacing 0.1 mm, component identification in the Patient module),
// written by the same writer the tests use (inference/dicom/write.ts). The output is deterministic;
// test/inference/dicom-sample.test.ts checks the checked-in file is exactly what this writes.
// Run: node --import tsx inference/samples/make-dicom-sample.ts
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { dicomImage, TRANSFER_SYNTAX, writeDicom } from '../dicom/write.js';

export const SAMPLE_PNG = fileURLToPath(new URL('./weld-9000000.png', import.meta.url));
export const SAMPLE_DICOM = fileURLToPath(new URL('./weld-9000000.dcm', import.meta.url));
export const SAMPLE_PIXEL_SPACING_MM = 0.1;

/** UIDs under the 2.25 root (a UUID as a decimal integer) need no registered organisation root. */
const SOP_INSTANCE_UID = `2.25.${BigInt('0x8c0f3e5a1b2d4c6e9f0a1b2c3d4e5f60').toString()}`;

export async function dicomSample(png: Buffer): Promise<Uint8Array> {
  const { data, info } = await sharp(png).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({
    resolveWithObject: true,
  });
  if (info.channels !== 1) throw new Error(`${SAMPLE_PNG} is not greyscale`);
  const stored = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
  const elements = dicomImage({
    rows: info.height,
    columns: info.width,
    bitsAllocated: 16,
    stored,
    sopInstanceUid: SOP_INSTANCE_UID,
    modality: 'DX',
    manufacturer: 'Chitti',
    manufacturerModelName: 'synthetic weld generator (inference/training/generate.py)',
    acquisitionDate: '20261201',
    acquisitionTime: '120000',
    presentationLutShape: 'IDENTITY',
    imagerPixelSpacing: [SAMPLE_PIXEL_SPACING_MM, SAMPLE_PIXEL_SPACING_MM],
    component: { id: 'SAMPLE-9000000', name: 'Synthetic butt weld 9000000', manufacturingProcedure: 'synthetic' },
  });
  return writeDicom(elements, { transferSyntaxUid: TRANSFER_SYNTAX.explicitLittle });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const bytes = await dicomSample(await readFile(SAMPLE_PNG));
  await writeFile(SAMPLE_DICOM, bytes);
  process.stdout.write(`wrote ${SAMPLE_DICOM} (${bytes.length} bytes)\n`);
}
