/** Content-addressed bytes: the key is the sha256 of the content. */
export interface BlobStore {
  put(bytes: Buffer): Promise<{ sha256: string; sizeBytes: number; created: boolean }>;
  get(sha256: string): Promise<Buffer | undefined>;
  has(sha256: string): Promise<boolean>;
  /** Erases the bytes (tombstoned files); returns false when absent. */
  delete(sha256: string): Promise<boolean>;
}
