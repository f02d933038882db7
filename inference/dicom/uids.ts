/** Transfer syntaxes whose pixel data is stored as plain samples, which Chitti reads. */
export const UNCOMPRESSED_TRANSFER_SYNTAXES = {
  '1.2.840.10008.1.2': 'Implicit VR Little Endian',
  '1.2.840.10008.1.2.1': 'Explicit VR Little Endian',
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.2': 'Explicit VR Big Endian',
} as const;
export type UncompressedTransferSyntax = keyof typeof UNCOMPRESSED_TRANSFER_SYNTAXES;

/** Compressed transfer syntaxes, named so a refusal says which one the file used. */
const COMPRESSED_TRANSFER_SYNTAXES: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2.5': 'RLE Lossless',
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless SV1',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.201': 'HTJ2K Lossless',
  '1.2.840.10008.1.2.4.202': 'HTJ2K Lossless RPCL',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
  '1.2.840.10008.1.2.4.100': 'MPEG2',
  '1.2.840.10008.1.2.4.102': 'MPEG-4 AVC/H.264',
  '1.2.840.10008.1.2.4.201.1': 'HTJ2K',
};

export const isUncompressed = (uid: string): uid is UncompressedTransferSyntax =>
  Object.hasOwn(UNCOMPRESSED_TRANSFER_SYNTAXES, uid);

export const transferSyntaxName = (uid: string): string =>
  (UNCOMPRESSED_TRANSFER_SYNTAXES as Record<string, string>)[uid] ??
  COMPRESSED_TRANSFER_SYNTAXES[uid] ??
  'an unknown transfer syntax';

/** SOP classes that never hold an image, by UID prefix, with a name for the refusal. */
const NON_IMAGE_SOP_CLASSES: readonly (readonly [string, string])[] = [
  ['1.2.840.10008.5.1.4.1.1.88.', 'Structured Report'],
  ['1.2.840.10008.5.1.4.1.1.9.', 'Waveform'],
  ['1.2.840.10008.5.1.4.1.1.104.', 'Encapsulated Document'],
  ['1.2.840.10008.5.1.4.1.1.11.', 'Presentation State'],
  ['1.2.840.10008.5.1.4.1.1.66', 'Raw Data / Spatial Registration'],
  ['1.2.840.10008.5.1.4.1.1.481.', 'Radiotherapy object'],
];

/** The name of a non-image SOP class, or undefined for an image (or unknown) class. */
export const nonImageSopClass = (uid: string): string | undefined =>
  NON_IMAGE_SOP_CLASSES.find(([prefix]) => uid.startsWith(prefix))?.[1];

export const SOP_CLASS = {
  digitalXRayForPresentation: '1.2.840.10008.5.1.4.1.1.1.1',
  secondaryCapture: '1.2.840.10008.5.1.4.1.1.7',
  basicTextSr: '1.2.840.10008.5.1.4.1.1.88.11',
  twelveLeadEcg: '1.2.840.10008.5.1.4.1.1.9.1.1',
} as const;
