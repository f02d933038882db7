import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { readDicom } from '../../inference/dicom/index.js';
import { decodeImage } from '../../inference/preprocess.js';
import {
  dicomSample,
  SAMPLE_DICOM,
  SAMPLE_PIXEL_SPACING_MM,
  SAMPLE_PNG,
} from '../../inference/samples/make-dicom-sample.js';
import { pydicomRead } from '../support/dicom.js';

describe('the README’s DICOM sample (inference/samples/weld-9000000.dcm)', () => {
  it('is exactly what make-dicom-sample.ts writes from the 16-bit PNG sample', async () => {
    const checkedIn = await readFile(SAMPLE_DICOM);
    const made = await dicomSample(await readFile(SAMPLE_PNG));
    expect(Buffer.from(made).equals(checkedIn)).toBe(true);
  });

  it('is a 16-bit DICONDE radiograph at 0.1 mm that pydicom reads too', async () => {
    const bytes = await readFile(SAMPLE_DICOM);
    const image = readDicom(bytes, { maxPixels: 1e8 });
    expect(image.pixelSpacingMm).toEqual({ row: SAMPLE_PIXEL_SPACING_MM, column: SAMPLE_PIXEL_SPACING_MM });
    expect(image.header).toMatchObject({
      modality: 'DX',
      bitsStored: 16,
      photometricInterpretation: 'MONOCHROME2',
      pixelSpacingTag: 'ImagerPixelSpacing',
      component: { id: 'SAMPLE-9000000' },
    });
    const reference = pydicomRead(bytes);
    expect(reference.imagerPixelSpacing).toEqual([SAMPLE_PIXEL_SPACING_MM, SAMPLE_PIXEL_SPACING_MM]);
    expect(Array.from(image.samples, (s) => image.outputValue(s))).toEqual(reference.modalityValues);
  });

  it('gives the model exactly the pixels the PNG sample gives it', async () => {
    const fromPng = await decodeImage(await readFile(SAMPLE_PNG));
    const fromDicom = await decodeImage(await readFile(SAMPLE_DICOM));
    expect(fromDicom.window).toEqual(fromPng.window);
    expect(Buffer.from(fromDicom.pixels).equals(Buffer.from(fromPng.pixels))).toBe(true);
  });
});
