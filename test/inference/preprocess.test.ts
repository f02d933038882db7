import sharp, { type Sharp } from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  decodeImage,
  ImageRejectedError,
  percentileWindow,
  prepareImage,
  sniffMediaType,
} from '../../inference/preprocess.js';
import { pngClaiming } from './support/poison.js';

/** 64×32 RGB: left half white, right half black. */
async function halves(): Promise<Sharp> {
  const pixels = Buffer.alloc(64 * 32 * 3);
  for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) pixels.fill(255, (y * 64 + x) * 3, (y * 64 + x) * 3 + 3);
  return sharp(pixels, { raw: { width: 64, height: 32, channels: 3 } });
}

async function rejectionOf(bytes: Uint8Array, options = {}): Promise<ImageRejectedError> {
  try {
    await decodeImage(bytes, options);
  } catch (error) {
    if (error instanceof ImageRejectedError) return error;
    throw error;
  }
  throw new Error('the image was accepted');
}

describe('decodeImage', () => {
  it.each([
    ['png', 'image/png', (s: Sharp) => s.png()],
    ['jpeg', 'image/jpeg', (s: Sharp) => s.jpeg({ quality: 95 })],
    ['webp', 'image/webp', (s: Sharp) => s.webp({ lossless: true })],
    ['tiff', 'image/tiff', (s: Sharp) => s.tiff({ compression: 'lzw' })],
  ] as const)('decodes %s to 8-bit RGB', async (_name, mediaType, encode) => {
    const bytes = await encode(await halves()).toBuffer();
    expect(sniffMediaType(bytes)).toBe(mediaType);
    const decoded = await decodeImage(bytes);
    expect(decoded).toMatchObject({ mediaType, width: 64, height: 32, channels: 3, bitDepth: 8, window: null });
    const at = (x: number, y: number) => decoded.pixels[(y * 64 + x) * 3]!;
    expect(at(5, 5)).toBeGreaterThan(240);
    expect(at(60, 5)).toBeLessThan(15);
  });

  it('windows 16-bit greyscale PNG and TIFF by the 0.5/99.5 percentiles and records the window', async () => {
    // 100×50 ramp: sample i has value 10·i, so nearest-rank percentiles are 10·floor(p·4999).
    const ramp = Uint16Array.from({ length: 5000 }, (_, i) => i * 10);
    for (const encode of [(s: Sharp) => s.png(), (s: Sharp) => s.tiff({ compression: 'none' })]) {
      const bytes = await encode(
        sharp(ramp, { raw: { width: 100, height: 50, channels: 1 } }).toColourspace('grey16'),
      ).toBuffer();
      const decoded = await decodeImage(bytes);
      expect(decoded).toMatchObject({ width: 100, height: 50, channels: 1, bitDepth: 16 });
      expect(decoded.window).toEqual({ low: 240, high: 49740 });
      expect(decoded.pixels[0]).toBe(0);
      expect(decoded.pixels[24]).toBe(0);
      expect(decoded.pixels[2500]).toBe(Math.round(((25000 - 240) / 49500) * 255));
      expect(decoded.pixels[4999]).toBe(255);
    }
  });

  it('honours other window percentiles and gives a flat image a one-unit window', () => {
    const ramp = Uint16Array.from({ length: 101 }, (_, i) => i);
    expect(percentileWindow(ramp, 10, 90)).toEqual({ low: 10, high: 90 });
    expect(percentileWindow(new Uint16Array(50).fill(7), 0.5, 99.5)).toEqual({ low: 7, high: 8 });
    expect(() => percentileWindow(ramp, 90, 10)).toThrow(RangeError);
  });

  it('turns greyscale and alpha into plain grey / RGB', async () => {
    const grey = await sharp(Buffer.alloc(32, 64), { raw: { width: 8, height: 4, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    expect(await decodeImage(grey)).toMatchObject({ channels: 1, width: 8, height: 4 });
    const rgba = await sharp({
      create: { width: 8, height: 4, channels: 4, background: { r: 200, g: 10, b: 10, alpha: 1 } },
    })
      .png()
      .toBuffer();
    const decoded = await decodeImage(rgba);
    expect(decoded.channels).toBe(3);
    expect([...decoded.pixels.subarray(0, 3)]).toEqual([200, 10, 10]);
  });

  it('applies EXIF orientation', async () => {
    const bytes = await (await halves()).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const decoded = await decodeImage(bytes);
    expect([decoded.width, decoded.height]).toEqual([32, 64]);
  });

  it('refuses poison files with a typed reason', async () => {
    const png = await (await halves()).png().toBuffer();
    const jpeg = await (await halves()).jpeg().toBuffer();
    expect((await rejectionOf(new Uint8Array())).code).toBe('corrupt-image');
    expect((await rejectionOf(png.subarray(0, png.length - 40))).code).toBe('corrupt-image');
    expect((await rejectionOf(jpeg.subarray(0, Math.floor(jpeg.length / 2)))).code).toBe('corrupt-image');
    const bomb = await rejectionOf(pngClaiming(30000, 30000));
    expect(bomb.code).toBe('decompression-bomb');
    expect(bomb.message).toMatch(/30000×30000|pixel limit/);
    const text = await rejectionOf(Buffer.from('just some text, saved as defect.png\n'));
    expect(text.code).toBe('unsupported-media');
    const gif = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } })
      .gif()
      .toBuffer();
    expect((await rejectionOf(gif)).code).toBe('unsupported-media');
    expect((await rejectionOf(png, { maxPixels: 100 })).code).toBe('decompression-bomb');
  });
});

describe('prepareImage', () => {
  it('letterboxes to the model input as planar RGB /255 with 114 padding', async () => {
    const bytes = await (await halves()).png().toBuffer();
    const prepared = await prepareImage(bytes, { width: 64, height: 64 });
    expect(prepared.image).toEqual({ width: 64, height: 32 });
    expect(prepared.geometry.pad).toEqual({ top: 16, bottom: 16, left: 0, right: 0 });
    const plane = 64 * 64;
    const value = (c: number, x: number, y: number) => Math.round(prepared.tensor[c * plane + y * 64 + x]! * 255);
    expect(value(0, 10, 5)).toBe(114); // top padding
    expect(value(1, 10, 20)).toBe(255); // white half
    expect(value(2, 50, 20)).toBe(0); // black half
    expect(value(0, 50, 60)).toBe(114); // bottom padding
  });
});
