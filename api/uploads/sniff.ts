import type { MediaType } from '../../schemas/events/index.js';

const startsWith = (bytes: Buffer, signature: readonly number[], offset = 0): boolean =>
  bytes.length >= offset + signature.length && signature.every((b, i) => bytes[offset + i] === b);

/** The image type the bytes really are, by their magic number; undefined for anything else. */
export function sniffImageType(bytes: Buffer): MediaType | undefined {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8))
    return 'image/webp';
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return 'image/tiff';
  return undefined;
}

/** ONNX files are protobuf ModelProto: field 1 (ir_version, varint) comes first in every exporter's output. */
export const looksLikeOnnx = (bytes: Buffer): boolean => bytes.length > 16 && bytes[0] === 0x08;
