export {
  DicomError,
  type DicomImage,
  type DicomRefusal,
  type DicomSignature,
  type DisplayWindow,
  isDicomWithoutPrefix,
  type ReadDicomOptions,
  readDicom,
  sniffDicom,
} from './read.js';
export { transferSyntaxName } from './uids.js';
