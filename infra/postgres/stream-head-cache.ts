import { BoundedLru } from '../../schemas/bounded-lru.js';

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
  private readonly entries: BoundedLru<string, CachedStreamHead>;

  constructor(capacity: number) {
    this.entries = new BoundedLru(capacity);
  }

  get(streamId: string): CachedStreamHead | undefined {
    return this.entries.get(streamId);
  }

  set(streamId: string, head: CachedStreamHead): void {
    const known = this.entries.peek(streamId);
    if (known && known.version > head.version) return;
    this.entries.set(streamId, head);
  }

  delete(streamId: string): void {
    this.entries.delete(streamId);
  }
}
