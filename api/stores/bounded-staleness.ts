/**
 * Runs `refresh` no more often than callers' staleness allows: a caller accepting S ms of staleness
 * shares a refresh that started less than S ms ago (waiting for it if it is still running), so a
 * busy API costs one refresh per window, not one per request. S = 0 always starts a new one.
 * A refresh that started at T reflects everything committed before T.
 */
export class BoundedStaleness {
  private last: { readonly startedAt: number; readonly done: Promise<void> } | undefined;

  constructor(private readonly refresh: () => Promise<void>) {}

  ensure(maxStalenessMs: number): Promise<void> {
    const now = Date.now();
    if (this.last && now - this.last.startedAt < maxStalenessMs) return this.last.done;
    const entry = { startedAt: now, done: this.refresh() };
    this.last = entry;
    // A failed refresh is not shared: the next caller tries again.
    entry.done.catch(() => {
      if (this.last === entry) this.last = undefined;
    });
    return entry.done;
  }
}
