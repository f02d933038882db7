import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage, ImageRejectedError, prepareImage } from '../../inference/preprocess.js';
import { greyDicom, ramp, TRANSFER_SYNTAX } from '../support/dicom.js';

const W = 40;
const H = 30;
/** A 16-bit radiograph-like ramp with a few outliers, so the percentile window matters. */
const stored = ramp(W * H, 9000, 41000).map((v, i) => (i % 401 === 0 ? 65000 : v));

async function rejectionOf(bytes: Uint8Array, maxPixels?: number): Promise<ImageRejectedError> {
  try {
    await decodeImage(bytes, maxPixels ? { maxPixels } : {});
  } catch (error) {
    if (error instanceof ImageRejectedError) return error;
    throw error;
  }
  throw new Error('the image was accepted');
}

describe('decodeImage on DICOM', () => {
  it('decodes 16-bit MONOCHROME2 exactly like the same samples in a 16-bit PNG (same percentile window)', async () => {
    const png16 = await sharp(Uint16Array.from(stored), { raw: { width: W, height: H, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toBuffer();
    const fromPng = await decodeImage(png16);
    expect(fromPng.bitDepth).toBe(16);
    const fromDicom = await decodeImage(greyDicom({ rows: H, columns: W, bitsAllocated: 16, stored }));
    expect(fromDicom).toMatchObject({ mediaType: 'application/dicom', width: W, height: H, channels: 1, bitDepth: 16 });
    expect(fromDicom.window).toEqual(fromPng.window);
    expect(Buffer.from(fromDicom.pixels).equals(Buffer.from(fromPng.pixels))).toBe(true);
  });

  it('shows MONOCHROME1 inverted, and records its window black..white in output units (low > high)', async () => {
    const mono2 = await decodeImage(greyDicom({ rows: H, columns: W, bitsAllocated: 16, stored }));
    const mono1 = await decodeImage(
      greyDicom(
        { rows: H, columns: W, bitsAllocated: 16, stored, photometric: 'MONOCHROME1' },
        {
          transferSyntaxUid: TRANSFER_SYNTAX.implicitLittle,
        },
      ),
    );
    const pixel = (image: typeof mono1, i: number) => image.pixels[i]!;
    // The darkest MONOCHROME2 pixel is the brightest MONOCHROME1 pixel and vice versa.
    expect(pixel(mono2, 1)).toBe(0);
    expect(pixel(mono1, 1)).toBe(255);
    expect(pixel(mono2, W * H - 2)).toBe(255);
    expect(pixel(mono1, W * H - 2)).toBe(0);
    expect(mono1.window!.low).toBeGreaterThan(mono1.window!.high);
  });

  it('uses the header window when it fits, recorded in output units after rescale', async () => {
    const decoded = await decodeImage(
      greyDicom({
        rows: H,
        columns: W,
        bitsAllocated: 16,
        stored,
        rescale: { slope: 1, intercept: -1000 },
        window: { center: 24000.5, width: 30001 },
      }),
    );
    expect(decoded.window).toEqual({ low: 9000, high: 39000 });
  });

  it('letterboxes a DICOM image for the model like any other', async () => {
    const prepared = await prepareImage(greyDicom({ rows: H, columns: W, bitsAllocated: 16, stored }), {
      width: 64,
      height: 64,
    });
    expect(prepared).toMatchObject({ image: { width: W, height: H }, mediaType: 'application/dicom', bitDepth: 16 });
    expect(prepared.tensor).toHaveLength(3 * 64 * 64);
  });

  it.each([
    [
      'a compressed transfer syntax',
      () =>
        greyDicom({ rows: H, columns: W, bitsAllocated: 16, stored }, { transferSyntaxUid: TRANSFER_SYNTAX.jpeg2000 }),
      'unsupported-media',
      /JPEG 2000 Lossless/,
    ],
    [
      'more pixels than the limit',
      () => greyDicom({ rows: H, columns: W, bitsAllocated: 16, stored }),
      'decompression-bomb',
      /more than the limit of 100/,
    ],
    [
      'a truncated file',
      () => greyDicom({ rows: H, columns: W, bitsAllocated: 16, stored }).subarray(0, 1000),
      'corrupt-image',
      /pixel data element claims/,
    ],
  ] as const)('refuses %s with the InspectionFailed code', async (_what, make, code, message) => {
    const rejection = await rejectionOf(make(), code === 'decompression-bomb' ? 100 : undefined);
    expect({ code: rejection.code, message: rejection.message }).toEqual({
      code,
      message: expect.stringMatching(message),
    });
  });
});
