import type { RecordedEvent } from '../../schemas/events/index.js';

interface Read {
  readonly after: number;
  readonly maxCount: number;
  readonly events: Promise<RecordedEvent[]>;
}

/**
 * The in-process subscriptions (read models, search, reactors, inference source, caches) are woken
 * by the same commit: one query then serves every reader whose start it covers while it runs,
 * instead of one query each. Readers rarely sit at exactly the same checkpoint (one that applied
 * the last batch in a transaction moves later than one that skipped it), so a running read serves
 * any reader at or after its start: positions have no gaps, so its events past a reader's
 * checkpoint are exactly what a query of that reader's own, started with it, would return.
 *
 * A reader only joins a read started in the current wake-up epoch (`epoch()` moves at each
 * notification, before its waiters wake) and still running. A read started before the
 * notification that woke the reader may miss that commit, and the reader, finding nothing, would
 * sleep until its safety poll; one started after it sees every commit the notification announced.
 * A finished read is never reused: a commit that was not announced (or whose notice was lost)
 * must still be found by the next read, the safety poll's included. A read cut at its `maxCount`
 * says nothing beyond its last event: a reader past it reads for itself.
 */
export class SharedLogReads {
  private reads: Read[] = [];
  private readsEpoch = -1;

  constructor(
    private readonly readAll: (after: number, maxCount: number) => Promise<RecordedEvent[]>,
    private readonly epoch: () => number,
  ) {}

  async read(after: number, maxCount: number): Promise<RecordedEvent[]> {
    const epoch = this.epoch();
    if (epoch !== this.readsEpoch) {
      this.reads = [];
      this.readsEpoch = epoch;
    }
    // The latest running read of this epoch that starts at or before `after`.
    let covering: Read | undefined;
    for (const read of this.reads)
      if (read.after <= after && (!covering || read.after >= covering.after)) covering = read;
    if (covering) {
      const events = await covering.events.catch(() => undefined);
      if (events) {
        const cut = events.length >= covering.maxCount;
        const mine = events.filter((event) => event.globalPosition > after).slice(0, maxCount);
        if (mine.length > 0 || !cut) return mine;
      }
    }
    return this.start(after, maxCount);
  }

  private start(after: number, maxCount: number): Promise<RecordedEvent[]> {
    // The epoch may have moved while this reader looked at an earlier read: this one starts now.
    const epoch = this.epoch();
    if (epoch !== this.readsEpoch) {
      this.reads = [];
      this.readsEpoch = epoch;
    }
    const events = this.readAll(after, maxCount);
    const entry: Read = { after, maxCount, events };
    // One per start (a new read of the same start replaces an older one of the epoch).
    this.reads = this.reads.filter((r) => r.after !== after);
    this.reads.push(entry);
    // Shared only while it runs (a failed one is not shared either: the next reader tries again).
    const done = () => {
      this.reads = this.reads.filter((r) => r !== entry);
    };
    events.then(done, done);
    // Each reader gets an array of its own (the events themselves are immutable records).
    return events.then((list) => list.slice());
  }
}
