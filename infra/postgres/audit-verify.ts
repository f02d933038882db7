import type pg from 'pg';
import { type EventTableRow, hashEventRow } from './event-rows.js';
import { computeSealDigest, decodeSealEntries, digestsEqual, type SealEntry, sealKeyBytes } from './seal-digest.js';

/** A pool, or one client (e.g. inside a REPEATABLE READ transaction, for one consistent snapshot). */
export type Queryable = pg.Pool | pg.ClientBase;

export type AuditProblemKind = 'altered' | 'inserted' | 'deleted' | 'seal-mismatch' | 'reordered';

export interface AuditProblem {
  readonly kind: AuditProblemKind;
  readonly globalPosition?: number;
  readonly streamId?: string;
  readonly streamVersion?: number;
  readonly eventId?: string;
  readonly sealNumber?: number;
  readonly detail: string;
}

export interface AuditReport {
  readonly ok: boolean;
  readonly eventsChecked: number;
  readonly sealsChecked: number;
  /** Highest position covered by a seal that verified. */
  readonly sealedUpTo: number;
  /** The broken event with the lowest global position. */
  readonly firstProblem?: AuditProblem;
  readonly problemCount: number;
}

export interface VerifyAuditOptions {
  readonly sealKey: string | Uint8Array;
  /** Rows per keyset page. */
  readonly batchSize?: number;
}

interface AuditRow extends EventTableRow {
  /** The store writes millisecond times; a finer one was edited (and would hide in a JS Date). */
  finer_than_ms: boolean;
}

interface SealRow {
  seal_number: number;
  from_position: string;
  to_position: string;
  event_count: number;
  entries: Buffer;
  prev_digest: string | null;
  digest: string;
}

/** A verified seal: what it says was at each position of its range. */
interface TrustedSeal {
  readonly sealNumber: number;
  readonly from: number;
  readonly to: number;
  readonly byPosition: ReadonlyMap<number, SealEntry>;
  readonly positionOfId: ReadonlyMap<string, number>;
}

interface StreamTip {
  version: number;
  hash: string;
  globalPosition: number;
  eventId: string;
}

/**
 * Recomputes every event's hash and stream chain, every seal's HMAC and seal chain, and compares
 * each sealed range with the rows now there. Reads events and seals in keyset pages, once, in
 * global order; memory grows with the number of streams (one tip each), not with events.
 */
export async function verifyAudit(pool: Queryable, options: VerifyAuditOptions): Promise<AuditReport> {
  const key = sealKeyBytes(options.sealKey);
  const batchSize = options.batchSize ?? 2_000;
  let firstProblem: AuditProblem | undefined;
  let problemCount = 0;
  const report = (problem: AuditProblem) => {
    problemCount++;
    if (
      !firstProblem ||
      (problem.globalPosition ?? Number.POSITIVE_INFINITY) < (firstProblem.globalPosition ?? Number.POSITIVE_INFINITY)
    ) {
      firstProblem = problem;
    }
  };

  // One snapshot: the head and the sealed end; appends and seals after it are left for the next run.
  const bounds = await pool.query<{ head: string; sealed: string | null }>(
    'SELECT (SELECT position FROM event_log_head) AS head, (SELECT max(to_position) FROM seals) AS sealed',
  );
  // Honest stores never seal beyond the head, so a larger sealed end means the head was wound back.
  const scanUpTo = Math.max(Number(bounds.rows[0]?.head ?? 0), Number(bounds.rows[0]?.sealed ?? 0));
  const seals = new SealWalker(pool, key, Math.max(1, Math.floor(batchSize / 200)), report);
  const tips = new Map<string, StreamTip>();
  let eventsChecked = 0;
  let lastPosition = 0;

  /** Positions lastPosition+1 .. upTo-1 hold no row: positions are handed out without gaps, so each was deleted. */
  const checkMissingBefore = async (upTo: number) => {
    if (upTo <= lastPosition + 1) return;
    const missing = lastPosition + 1;
    const seal = await seals.covering(missing);
    const sealed = seal?.byPosition.get(missing);
    report({
      kind: 'deleted',
      globalPosition: missing,
      ...(sealed ? { eventId: sealed.eventId } : {}),
      ...(seal ? { sealNumber: seal.sealNumber } : {}),
      detail: sealed
        ? `the event sealed at position ${missing} is gone (${upTo - missing} position(s) missing)`
        : `position ${missing} is missing from the log (${upTo - missing} position(s) missing)`,
    });
  };

  for (let after = 0; ; ) {
    const { rows } = await pool.query<AuditRow>(
      `SELECT global_position, stream_id, stream_version, event_id, type, schema_version, data, metadata,
              recorded_at, recorded_at <> date_trunc('milliseconds', recorded_at) AS finer_than_ms, hash, prev_hash
         FROM events WHERE global_position > $1 AND global_position <= $2 ORDER BY global_position LIMIT $3`,
      [after, scanUpTo, batchSize],
    );
    if (rows.length === 0) break;
    for (const row of rows) {
      const position = Number(row.global_position);
      await checkMissingBefore(position);
      checkChain(row, position, tips, report);
      const seal = await seals.covering(position);
      if (seal) await checkAgainstSeal(pool, row, position, seal, report);
      eventsChecked++;
      lastPosition = position;
    }
    after = lastPosition;
  }
  await checkMissingBefore(scanUpTo + 1);
  await seals.drainUpTo(scanUpTo);
  // Rows and the head counter commit together, so in one snapshot a row above the counter was forged.
  const { rows: forged } = await pool.query<{ global_position: string; stream_id: string; event_id: string }>(
    `SELECT global_position, stream_id, event_id FROM events
      WHERE global_position > (SELECT position FROM event_log_head) ORDER BY global_position LIMIT 1`,
  );
  if (forged[0]) {
    report({
      kind: 'inserted',
      globalPosition: Number(forged[0].global_position),
      streamId: forged[0].stream_id,
      eventId: forged[0].event_id,
      detail: 'the row lies beyond the log head: it was not written by the store',
    });
  }

  return {
    ok: problemCount === 0,
    eventsChecked,
    sealsChecked: seals.checked,
    sealedUpTo: seals.trustedUpTo,
    ...(firstProblem ? { firstProblem } : {}),
    problemCount,
  };
}

function where(row: AuditRow, position: number) {
  return {
    globalPosition: position,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    eventId: row.event_id,
  };
}

/** The keyless checks: the event's own hash, its place in its stream, its link to the previous hash. */
function checkChain(row: AuditRow, position: number, tips: Map<string, StreamTip>, report: (p: AuditProblem) => void) {
  const recomputed = hashEventRow(row, row.prev_hash);
  if (recomputed !== row.hash || row.finer_than_ms) {
    report({ ...where(row, position), kind: 'altered', detail: 'the content no longer matches its hash' });
  }
  const tip = tips.get(row.stream_id);
  const expectedVersion = (tip?.version ?? 0) + 1;
  if (row.stream_version < expectedVersion) {
    report({
      ...where(row, position),
      kind: 'reordered',
      detail: `stream version ${row.stream_version} comes after version ${tip?.version} in the global order`,
    });
  } else if (row.stream_version > expectedVersion) {
    report({
      ...where(row, position),
      streamVersion: expectedVersion,
      kind: 'deleted',
      detail: `stream versions ${expectedVersion}..${row.stream_version - 1} are missing before position ${position}`,
    });
  } else if (row.prev_hash !== (tip?.hash ?? null)) {
    // The link is what the previous event's hash *was*; that event was rewritten and re-hashed.
    report(
      tip
        ? {
            globalPosition: tip.globalPosition,
            streamId: row.stream_id,
            streamVersion: tip.version,
            eventId: tip.eventId,
            kind: 'altered',
            detail: `its hash was recomputed: version ${row.stream_version} still links to the previous hash`,
          }
        : {
            ...where(row, position),
            kind: 'inserted',
            detail: 'the first event of its stream links to a previous hash',
          },
    );
  }
  tips.set(row.stream_id, {
    version: row.stream_version,
    hash: row.hash,
    globalPosition: position,
    eventId: row.event_id,
  });
}

/** Compares a row with what its seal recorded at that position. */
async function checkAgainstSeal(
  pool: Queryable,
  row: AuditRow,
  position: number,
  seal: TrustedSeal,
  report: (p: AuditProblem) => void,
) {
  const sealed = seal.byPosition.get(position);
  const at = { ...where(row, position), sealNumber: seal.sealNumber };
  if (!sealed) {
    report({ ...at, kind: 'inserted', detail: `seal ${seal.sealNumber} recorded no event at position ${position}` });
    return;
  }
  if (sealed.eventId !== row.event_id) {
    if (seal.positionOfId.has(row.event_id)) {
      report({
        ...at,
        kind: 'reordered',
        detail: `seal ${seal.sealNumber} recorded this event at position ${seal.positionOfId.get(row.event_id)}`,
      });
      return;
    }
    const { rows } = await pool.query('SELECT 1 FROM events WHERE event_id = $1', [sealed.eventId]);
    report(
      rows.length === 0
        ? {
            ...at,
            eventId: sealed.eventId,
            kind: 'deleted',
            detail: `the event sealed at position ${position} is gone and later events were moved up`,
          }
        : {
            ...at,
            kind: 'inserted',
            detail: `seal ${seal.sealNumber} recorded another event (${sealed.eventId}) here`,
          },
    );
    return;
  }
  if (sealed.hash !== row.hash) {
    report({ ...at, kind: 'altered', detail: `its hash differs from the one sealed in seal ${seal.sealNumber}` });
  }
}

/** Reads seals in order, checks each one's HMAC and its link to the previous seal, and serves the trusted ones. */
class SealWalker {
  checked = 0;
  trustedUpTo = 0;
  private buffer: SealRow[] = [];
  private afterNumber = 0;
  private exhausted = false;
  private current: TrustedSeal | { from: number; to: number; untrusted: true } | undefined;
  private previous: { sealNumber: number; to: number; digest: string } | undefined;

  constructor(
    private readonly pool: Queryable,
    private readonly key: Buffer,
    private readonly pageSize: number,
    private readonly report: (p: AuditProblem) => void,
  ) {}

  /** The verified seal whose range holds `position`, if any. Positions must be asked in ascending order. */
  async covering(position: number): Promise<TrustedSeal | undefined> {
    while (!this.current || this.current.to < position) {
      const next = await this.next();
      if (!next) return undefined;
      this.current = next;
    }
    if (this.current.from > position || 'untrusted' in this.current) return undefined;
    return this.current;
  }

  /** Reads the remaining seals too, so their digests and a deleted sealed tail are checked. */
  async drainUpTo(position: number): Promise<void> {
    while (!this.current || this.current.to < position) {
      const next = await this.next();
      if (!next) return;
      this.current = next;
    }
  }

  private async next(): Promise<TrustedSeal | { from: number; to: number; untrusted: true } | undefined> {
    if (this.buffer.length === 0 && !this.exhausted) {
      const { rows } = await this.pool.query<SealRow>(
        `SELECT seal_number, from_position, to_position, event_count, entries, prev_digest, digest
           FROM seals WHERE seal_number > $1 ORDER BY seal_number LIMIT $2`,
        [this.afterNumber, this.pageSize],
      );
      this.buffer = rows;
      this.exhausted = rows.length < this.pageSize;
    }
    const row = this.buffer.shift();
    if (!row) return undefined;
    this.afterNumber = row.seal_number;
    this.checked++;
    const from = Number(row.from_position);
    const to = Number(row.to_position);
    const problem = this.problemWith(row, from, to);
    this.previous = { sealNumber: row.seal_number, to, digest: row.digest };
    const entries = problem ? undefined : decodeSealEntries(row.entries);
    if (problem || !entries) {
      this.report({
        kind: 'seal-mismatch',
        globalPosition: from,
        sealNumber: row.seal_number,
        detail: problem ?? 'bad entries',
      });
      return { from, to, untrusted: true };
    }
    if (this.trustedUpTo === from - 1) this.trustedUpTo = to;
    return {
      sealNumber: row.seal_number,
      from,
      to,
      byPosition: new Map(entries.map((e) => [e.globalPosition, e])),
      positionOfId: new Map(entries.map((e) => [e.eventId, e.globalPosition])),
    };
  }

  private problemWith(row: SealRow, from: number, to: number): string | undefined {
    const expectedNumber = (this.previous?.sealNumber ?? 0) + 1;
    if (row.seal_number !== expectedNumber) return `seal ${expectedNumber} is missing`;
    if (from !== (this.previous?.to ?? 0) + 1)
      return `seal ${row.seal_number} does not start where seal ${expectedNumber - 1} ended`;
    if (row.prev_digest !== (this.previous?.digest ?? null)) {
      return `seal ${row.seal_number} does not link to the digest of seal ${expectedNumber - 1}`;
    }
    const digest = computeSealDigest(this.key, {
      sealNumber: row.seal_number,
      fromPosition: from,
      toPosition: to,
      entries: row.entries,
      prevDigest: row.prev_digest,
    });
    if (!digestsEqual(digest, row.digest)) return `seal ${row.seal_number}'s digest does not verify with the seal key`;
    const entries = decodeSealEntries(row.entries);
    if (!entries || entries.length !== row.event_count) return `seal ${row.seal_number}'s entries are malformed`;
    if (
      entries.some(
        (e, i) =>
          e.globalPosition < from ||
          e.globalPosition > to ||
          (i > 0 && e.globalPosition <= entries[i - 1]!.globalPosition),
      )
    ) {
      return `seal ${row.seal_number}'s entries lie outside its range`;
    }
    return undefined;
  }
}
