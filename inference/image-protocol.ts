/** Messages between ImagePool (calling thread) and image-worker (decoding, windowing, resampling). */
import type { ImageHeader, ImageMediaType, ImageRejectionCode } from './preprocess.js';

export interface Size {
  readonly width: number;
  readonly height: number;
}

/** A decoded, windowed 8-bit image; `pixels` lives on a SharedArrayBuffer, so it crosses threads uncopied. */
export interface RasterData {
  readonly mediaType: ImageMediaType;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly bitDepth: 8 | 16;
  readonly window: { readonly low: number; readonly high: number } | null;
  readonly pixels: Uint8Array;
}

export type ImageJob =
  /** Header only (dimensions under the pixel limit). */
  | { readonly kind: 'probe'; readonly bytes: Uint8Array; readonly maxPixels: number }
  /** Header plus a full streaming decode: refuses truncated and corrupt files (uploads). */
  | { readonly kind: 'verify'; readonly bytes: Uint8Array; readonly maxPixels: number }
  | {
      readonly kind: 'decode';
      readonly bytes: Uint8Array;
      readonly maxPixels: number;
      readonly windowPercentiles?: readonly [number, number];
    }
  | { readonly kind: 'letterbox'; readonly image: RasterData; readonly target: Size }
  | {
      readonly kind: 'tiles';
      readonly image: RasterData;
      readonly scaled: Size;
      readonly tileSize: Size;
      readonly origins: readonly { readonly x: number; readonly y: number }[];
    };

export type ImageJobRequest = ImageJob & { readonly id: number };

export type ImageReply =
  | { readonly kind: 'header'; readonly id: number; readonly header: ImageHeader }
  | { readonly kind: 'decoded'; readonly id: number; readonly image: RasterData }
  | { readonly kind: 'tensors'; readonly id: number; readonly tensors: readonly Float32Array[] }
  | {
      readonly kind: 'error';
      readonly id: number;
      readonly message: string;
      /** Set when the bytes are not a usable image (never retryable). */
      readonly rejection: ImageRejectionCode | null;
    };
