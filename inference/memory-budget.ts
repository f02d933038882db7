/** A reservation against a MemoryBudget; resize it as the work's footprint changes, release it once. */
export interface MemoryLease {
  readonly bytes: number;
  /** Changes the reserved amount (growing never waits: only admission waits). */
  resize(bytes: number): void;
  release(): void;
}

export interface MemoryBudgetStats {
  readonly bytesInFlight: number;
  readonly peakBytesInFlight: number;
  readonly waiting: number;
}

/**
 * Bytes of image data in flight across concurrent requests. `acquire` waits (first come, first
 * served) until the reservation fits; a single reservation larger than the whole budget is
 * admitted alone once nothing else holds any, so one big image is slow, never refused or OOM.
 */
export class MemoryBudget {
  private inFlight = 0;
  private peak = 0;
  private readonly queue: { bytes: number; admit: () => void }[] = [];

  constructor(readonly limitBytes: number) {
    if (!(limitBytes > 0)) throw new RangeError('the memory budget must be positive');
  }

  stats(): MemoryBudgetStats {
    return { bytesInFlight: this.inFlight, peakBytesInFlight: this.peak, waiting: this.queue.length };
  }

  async acquire(bytes: number): Promise<MemoryLease> {
    if (!(bytes >= 0)) throw new RangeError(`cannot reserve ${bytes} bytes`);
    if (this.queue.length > 0 || !this.fits(bytes)) {
      await new Promise<void>((admit) => this.queue.push({ bytes, admit }));
    } else {
      this.add(bytes);
    }
    let held = bytes;
    let released = false;
    return {
      get bytes() {
        return held;
      },
      resize: (next: number) => {
        if (released) return;
        this.add(next - held);
        held = next;
        this.admitWaiting();
      },
      release: () => {
        if (released) return;
        released = true;
        this.add(-held);
        held = 0;
        this.admitWaiting();
      },
    };
  }

  private fits(bytes: number): boolean {
    return this.inFlight === 0 || this.inFlight + bytes <= this.limitBytes;
  }

  private add(bytes: number): void {
    this.inFlight += bytes;
    this.peak = Math.max(this.peak, this.inFlight);
  }

  private admitWaiting(): void {
    while (this.queue.length > 0 && this.fits(this.queue[0]!.bytes)) {
      const next = this.queue.shift()!;
      this.add(next.bytes);
      next.admit();
    }
  }
}
