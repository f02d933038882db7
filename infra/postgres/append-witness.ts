import type { SealEntry } from './seal-digest.js';

const DEFAULT_CAPACITY = 200_000;

/**
 * What this process's own appends wrote, position → (event id, hash), kept until a seal covers it.
 * The sealer seals these instead of whatever the rows say by then, so a row edited, re-hashed,
 * moved or deleted between its commit and its seal contradicts the seal instead of being signed.
 * Positions other writers filled are not here; the sealer takes those from the rows. Bounded: if no
 * sealer drains it, the oldest entries go first.
 */
/** A commit notice: the last event of an append as its statement wrote it, and the writer's MAC over its id. */
export interface Notice extends SealEntry {
  readonly mac: string;
}

export class AppendWitness {
  private readonly entries = new Map<number, SealEntry>();
  /**
   * Commit notices of every process's appends (the last event of each, as its statement wrote it),
   * heard on the LISTEN connection. They are not proof of authorship (anyone with SQL access can send
   * a NOTIFY), so they never excuse a row from its writer-MAC check; they only prove an event was
   * committed there, so a deleted or replaced newest event is sealed as it was.
   */
  private readonly notices = new Map<number, Notice>();
  /** Event id → the position its first notice named: a replayed notice naming another position is dropped. */
  private readonly noticedIds = new Map<string, number>();
  private enabled = false;

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  /** Called by the sealer that drains it; until then nothing is kept (processes without a sealer). */
  enable(): void {
    this.enabled = true;
  }

  record(written: readonly SealEntry[]): void {
    if (!this.enabled) return;
    for (const entry of written) this.entries.set(entry.globalPosition, entry);
    this.bound(this.entries);
  }

  /** A commit notice, `<position> <event id> <hash> <notice MAC>`; anything else is ignored. */
  noticed(payload: string): void {
    if (!this.enabled) return;
    const match = /^(\d{1,15}) ([0-9a-f-]{36}) ([0-9a-f]{64}) (\S+)$/.exec(payload);
    if (!match) return;
    const globalPosition = Number(match[1]);
    const eventId = match[2]!;
    const first = this.noticedIds.get(eventId);
    if (first !== undefined && first !== globalPosition) return;
    this.noticedIds.set(eventId, globalPosition);
    this.notices.set(globalPosition, { globalPosition, eventId, hash: match[3]!, mac: match[4]! });
    this.bound(this.notices);
    this.bound(this.noticedIds);
  }

  private bound(map: Map<unknown, unknown>): void {
    while (map.size > this.capacity) map.delete(map.keys().next().value!);
  }

  /** The highest position this process wrote, 0 when none. */
  highest(): number {
    let highest = 0;
    for (const position of this.entries.keys()) highest = Math.max(highest, position);
    return highest;
  }

  /** What this process's appends wrote in from..to. */
  between(from: number, to: number): SealEntry[] {
    return [...this.entries.values()].filter((e) => e.globalPosition >= from && e.globalPosition <= to);
  }

  /** Commit notices in from..to (their MACs unchecked: the sealer checks them with the writer keys). */
  noticesBetween(from: number, to: number): Notice[] {
    return [...this.notices.values()].filter((e) => e.globalPosition >= from && e.globalPosition <= to);
  }

  forgetUpTo(position: number): void {
    for (const map of [this.entries, this.notices])
      for (const key of [...map.keys()]) if (key <= position) map.delete(key);
  }
}
