import type { SealEntry } from './seal-digest.js';

const DEFAULT_CAPACITY = 200_000;

/**
 * What this process's own appends wrote, position → (event id, hash), kept until a seal covers it.
 * The sealer seals these instead of whatever the rows say by then, so a row edited, re-hashed,
 * moved or deleted between its commit and its seal contradicts the seal instead of being signed.
 * Positions other writers filled are not here; the sealer takes those from the rows. Bounded: if no
 * sealer drains it, the oldest entries go first.
 */
export class AppendWitness {
  private readonly entries = new Map<number, SealEntry>();
  private enabled = false;

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  /** Called by the sealer that drains it; until then nothing is kept (processes without a sealer). */
  enable(): void {
    this.enabled = true;
  }

  record(written: readonly SealEntry[]): void {
    if (!this.enabled) return;
    for (const entry of written) this.entries.set(entry.globalPosition, entry);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  /** The highest position witnessed, 0 when none. */
  highest(): number {
    let highest = 0;
    for (const position of this.entries.keys()) highest = Math.max(highest, position);
    return highest;
  }

  between(from: number, to: number): SealEntry[] {
    return [...this.entries.values()].filter((e) => e.globalPosition >= from && e.globalPosition <= to);
  }

  forgetUpTo(position: number): void {
    for (const key of [...this.entries.keys()]) if (key <= position) this.entries.delete(key);
  }
}
