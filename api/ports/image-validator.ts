/** What an uploaded image's header says, once the whole file decoded. */
export interface CheckedImage {
  readonly width: number;
  readonly height: number;
  /** Channels in the file, alpha included. */
  readonly channels: number;
  /** libvips' sample format: uchar/char (8-bit), ushort/short (16-bit), float, ... */
  readonly sampleFormat: string;
}

export type ImageCheck =
  | { readonly ok: true; readonly image: CheckedImage }
  | {
      readonly ok: false;
      readonly code: 'corrupt-image' | 'too-many-pixels' | 'unsupported-media';
      readonly reason: string;
    };

/**
 * Decodes the bytes far enough to know they are a whole, usable image under the pixel limit,
 * without blocking the API's event loop (the adapter decodes in worker threads).
 */
export interface ImageValidator {
  check(bytes: Buffer, maxPixels: number): Promise<ImageCheck>;
}
