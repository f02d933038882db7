import type { RecordedEvent } from '../../schemas/events/index.js';

interface Running {
  readonly maxCount: number;
  readonly epoch: number;
  readonly events: Promise<RecordedEvent[]>;
}

/**
 * The in-process subscriptions (read models, search, reactors, inference source, caches) are woken
 * by the same commit and mostly sit at the same checkpoint: one query then serves every reader
 * asking for the same start while it runs, instead of one query each.
 *
 * A reader only joins a query started in the current wake-up epoch (`epoch()` moves at each
 * notification, before its waiters wake). A query started before the notification that woke the
 * reader may miss that commit, and the reader, finding nothing, would sleep until its safety poll;
 * one started after it sees every commit the notification announced.
 */
export class SharedLogReads {
  private readonly running = new Map<number, Running>();

  constructor(
    private readonly readAll: (after: number, maxCount: number) => Promise<RecordedEvent[]>,
    private readonly epoch: () => number,
  ) {}

  read(after: number, maxCount: number): Promise<RecordedEvent[]> {
    const epoch = this.epoch();
    const running = this.running.get(after);
    if (running && running.epoch === epoch && running.maxCount >= maxCount) {
      return running.events.then((events) => events.slice(0, maxCount));
    }
    const events = this.readAll(after, maxCount);
    const entry: Running = { maxCount, epoch, events };
    this.running.set(after, entry);
    const done = () => {
      if (this.running.get(after) === entry) this.running.delete(after);
    };
    events.then(done, done);
    // Each reader gets an array of its own (the events themselves are immutable records).
    return events.then((list) => list.slice());
  }
}
