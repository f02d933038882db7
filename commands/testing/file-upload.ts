/** A valid UploadFile input (a 640×480 PNG tagged 'weld'), for handler suites and benches. */
export const fileUpload = (fileId: string, sha256 = 'a'.repeat(64)) => ({
  fileId,
  sha256,
  sizeBytes: 2048,
  mediaType: 'image/png' as const,
  width: 640,
  height: 480,
  bitDepth: 8 as const,
  channels: 3,
  originalName: 'weld.png',
  tags: ['weld'],
});
