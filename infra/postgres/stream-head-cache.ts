/** The last known head of a stream: enough to hash and compare-and-set the next append. */
export interface CachedStreamHead {
  readonly version: number;
  readonly lastHash: string | null;
}

/**
 * Heads this process saw last, least recently used dropped first. Only a hint: a stale entry
 * makes the append's compare-and-set fail, and the store then reads the real head.
 */
export class StreamHeadCache {
  private readonly entries = new Map<string, CachedStreamHead>();

  constructor(private readonly capacity: number) {}

  get(streamId: string): CachedStreamHead | undefined {
    const head = this.entries.get(streamId);
    if (head) {
      this.entries.delete(streamId);
      this.entries.set(streamId, head);
    }
    return head;
  }

  set(streamId: string, head: CachedStreamHead): void {
    const known = this.entries.get(streamId);
    if (known && known.version > head.version) return;
    this.entries.delete(streamId);
    this.entries.set(streamId, head);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(streamId: string): void {
    this.entries.delete(streamId);
  }
}
