import type { KeyObject } from 'node:crypto';
import type pg from 'pg';
import type { AnchorContent } from '../sealing/anchor-file.js';
import type { WriterKeyRing } from '../sealing/writer-keys.js';
import { type EventTableRow, hashEventRow } from './event-rows.js';
import {
  computeSealDigest,
  decodeSealEntries,
  digestsEqual,
  type SealEntry,
  sealKeyBytes,
  sealMessage,
  sealMessageDigest,
  sealSignatureValid,
} from './seal-digest.js';
import { checkRowWriterMac, writerMacProblem } from './writer-mac.js';

/** A pool, or one client (e.g. inside a REPEATABLE READ transaction, for one consistent snapshot). */
export type Queryable = pg.Pool | pg.ClientBase;

export type AuditProblemKind =
  | 'altered'
  | 'inserted'
  | 'deleted'
  | 'reordered'
  | 'time-reversed'
  | 'seal-mismatch'
  | 'seal-unverifiable'
  | 'truncated'
  | 'unsealed'
  | 'unauthenticated';

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
  /** Seals compared with the anchor (0 when verified without one). */
  readonly anchoredSealsChecked: number;
  /** Key ids of the seals that verified. */
  readonly sealKeys: readonly string[];
  /** The oldest event no verified seal covers, if any. */
  readonly oldestUnsealedAt?: string;
  /**
   * Writer MACs: 'verified' when the writer keys were at hand (every MAC checked), 'presence-only'
   * when not (only that every event from the cut-over on carries one; the sealer checked the MACs
   * of sealed events before signing, so for them a valid seal vouches for the writer).
   */
  readonly writerMacs: 'verified' | 'presence-only';
  /** Events whose writer MAC was verified with a writer key. */
  readonly writerMacsChecked: number;
  /** The broken event with the lowest global position. */
  readonly firstProblem?: AuditProblem;
  readonly problemCount: number;
}

export interface VerifyAuditOptions {
  /** The Ed25519 public keys seals may be signed with, by key id: from the anchor or the auditor, never the database. */
  readonly trustedKeys: ReadonlyMap<string, KeyObject>;
  /** The old HMAC SEAL_KEY: only format-1 (pre-Ed25519) seals need it; without it they are reported unverifiable. */
  readonly legacyHmacKey?: string | Uint8Array | undefined;
  /** The seal anchor (the data folder's file or an auditor's copy): every seal in it must be in the database. */
  readonly anchor?: AnchorContent | undefined;
  /** Events older than this that no verified seal covers are a problem (unset: not checked). */
  readonly maxUnsealedSeconds?: number | undefined;
  /** The writer keys (secret): with them every writer MAC is verified, without them only their presence. */
  readonly writerKeys?: WriterKeyRing | undefined;
  /**
   * The first position that must carry a writer MAC (the anchor's `writer-macs` line). Unset: only
   * the keyless rule holds, that no event after one with a MAC lacks one.
   */
  readonly writerMacsFrom?: number | undefined;
  /** Rows per keyset page. */
  readonly batchSize?: number;
}

export interface AuditRow extends EventTableRow {
  /** The store writes millisecond times; a finer one was edited (and would hide in a JS Date). */
  finer_than_ms: boolean;
  writer_mac: string | null;
}

/** A row of the seals table as verify reads it (one definition: seal-records.ts extends it). */
export interface SealRow {
  seal_number: number;
  from_position: string;
  to_position: string;
  event_count: number;
  entries: Buffer;
  prev_digest: string | null;
  digest: string;
  format: number;
  key_id: string | null;
  signature: string | null;
}

/**
 * Where verify reads the log from: the database (postgresAuditSource) or an export file
 * (infra/sealing/export-file.ts). Events and seals are asked for in ascending order, in pages.
 */
export interface AuditSource {
  /** The snapshot: the log head, the end of the highest seal, and "now" for the unsealed-age bound. */
  bounds(): Promise<{ head: number; sealed: number; now: Date | undefined }>;
  /** Events with after < position <= upTo, by position, at most `limit`. */
  events(after: number, upTo: number, limit: number): Promise<AuditRow[]>;
  /** Seals numbered above `afterNumber`, by number, at most `limit`. */
  seals(afterNumber: number, limit: number): Promise<SealRow[]>;
  /** Whether an event with this id is anywhere in the log. */
  hasEvent(eventId: string): Promise<boolean>;
  /** A row beyond the log head (one the store cannot have written), if the source knows a head. */
  beyondHead(): Promise<{ global_position: string; stream_id: string; event_id: string } | undefined>;
  /** Problems the source found while reading (an export's malformed or duplicate lines). */
  readonly readProblems?: readonly AuditProblem[];
}

/** The database as an audit source; one client gives one consistent snapshot (REPEATABLE READ). */
export function postgresAuditSource(pool: Queryable): AuditSource {
  return {
    async bounds() {
      const { rows } = await pool.query<{ head: string; sealed: string | null; now: Date }>(
        `SELECT (SELECT position FROM event_log_head) AS head, (SELECT max(to_position) FROM seals) AS sealed,
                clock_timestamp() AS now`,
      );
      return { head: Number(rows[0]?.head ?? 0), sealed: Number(rows[0]?.sealed ?? 0), now: rows[0]!.now };
    },
    async events(after, upTo, limit) {
      const { rows } = await pool.query<AuditRow>(
        `SELECT global_position, stream_id, stream_version, event_id, type, schema_version, data, metadata,
                recorded_at, recorded_at <> date_trunc('milliseconds', recorded_at) AS finer_than_ms, hash, prev_hash,
                hash_version, writer_mac
           FROM events WHERE global_position > $1 AND global_position <= $2 ORDER BY global_position LIMIT $3`,
        [after, upTo, limit],
      );
      return rows;
    },
    async seals(afterNumber, limit) {
      const { rows } = await pool.query<SealRow>(
        `SELECT seal_number, from_position, to_position, event_count, entries, prev_digest, digest, format, key_id,
                signature
           FROM seals WHERE seal_number > $1 ORDER BY seal_number LIMIT $2`,
        [afterNumber, limit],
      );
      return rows;
    },
    async hasEvent(eventId) {
      const { rows } = await pool.query('SELECT 1 FROM events WHERE event_id = $1', [eventId]);
      return rows.length > 0;
    },
    async beyondHead() {
      // Rows and the head counter commit together, so in one snapshot a row above the counter was forged.
      const { rows } = await pool.query<{ global_position: string; stream_id: string; event_id: string }>(
        `SELECT global_position, stream_id, event_id FROM events
          WHERE global_position > (SELECT position FROM event_log_head) ORDER BY global_position LIMIT 1`,
      );
      return rows[0];
    },
  };
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
  recordedAt: number;
}

/** What the walk along the global order remembers besides the stream tips. */
interface LogTip {
  hashVersion: number;
  /** Recorded time of the last v2 row: from v2 on, times never decrease along positions. */
  v2RecordedAt: number | undefined;
}

/**
 * Recomputes every event's hash and stream chain, every seal's HMAC and seal chain, and compares
 * each sealed range with the rows now there. Reads events and seals in keyset pages, once, in
 * global order; memory grows with the number of streams (one tip each), not with events.
 */
export async function verifyAudit(pool: Queryable, options: VerifyAuditOptions): Promise<AuditReport> {
  return verifyAuditSource(postgresAuditSource(pool), options);
}

/** verifyAudit over any source: the database, or an export file with no database at all. */
export async function verifyAuditSource(source: AuditSource, options: VerifyAuditOptions): Promise<AuditReport> {
  const legacyKey = options.legacyHmacKey === undefined ? undefined : sealKeyBytes(options.legacyHmacKey);
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

  for (const problem of source.readProblems ?? []) report(problem);
  // One snapshot: the head and the sealed end; appends and seals after it are left for the next run.
  const bounds = await source.bounds();
  // Honest stores never seal beyond the head, so a larger sealed end means the head was wound back.
  const scanUpTo = Math.max(bounds.head, bounds.sealed);
  const seals = new SealWalker(
    source,
    { trustedKeys: options.trustedKeys, legacyKey },
    Math.max(1, Math.floor(batchSize / 200)),
    report,
  );
  const tips = new Map<string, StreamTip>();
  const logTip: LogTip = { hashVersion: 1, v2RecordedAt: undefined };
  let oldestUnsealed: { position: number; recordedAt: Date } | undefined;
  let eventsChecked = 0;
  let lastPosition = 0;
  const writers = { from: options.writerMacsFrom ?? Number.POSITIVE_INFINITY, checked: 0 };

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
    const rows = await source.events(after, scanUpTo, batchSize);
    if (rows.length === 0) break;
    for (const row of rows) {
      const position = Number(row.global_position);
      await checkMissingBefore(position);
      checkChain(row, position, tips, logTip, report);
      const seal = await seals.covering(position);
      if (seal) await checkAgainstSeal(source, row, position, seal, report);
      else oldestUnsealed ??= { position, recordedAt: row.recorded_at };
      checkWriter(row, position, options.writerKeys, writers, seal !== undefined, report);
      eventsChecked++;
      lastPosition = position;
    }
    after = lastPosition;
  }
  await checkMissingBefore(scanUpTo + 1);
  await seals.drainUpTo(Number.POSITIVE_INFINITY);
  const anchoredSealsChecked = options.anchor ? seals.compareWithAnchor(options.anchor) : 0;
  const now = bounds.now;
  if (oldestUnsealed && now && options.maxUnsealedSeconds !== undefined) {
    const ageSeconds = (now.getTime() - oldestUnsealed.recordedAt.getTime()) / 1000;
    if (ageSeconds > options.maxUnsealedSeconds) {
      report({
        kind: 'unsealed',
        globalPosition: oldestUnsealed.position,
        detail: `no verified seal covers position ${oldestUnsealed.position}, recorded ${Math.round(ageSeconds)} s ago (bound ${options.maxUnsealedSeconds} s): seals were removed, or the sealer is not running`,
      });
    }
  }
  const forged = await source.beyondHead();
  if (forged) {
    report({
      kind: 'inserted',
      globalPosition: Number(forged.global_position),
      streamId: forged.stream_id,
      eventId: forged.event_id,
      detail: 'the row lies beyond the log head: it was not written by the store',
    });
  }

  return {
    ok: problemCount === 0,
    eventsChecked,
    sealsChecked: seals.checked,
    sealedUpTo: seals.trustedUpTo,
    anchoredSealsChecked,
    sealKeys: [...seals.keysUsed],
    ...(oldestUnsealed ? { oldestUnsealedAt: oldestUnsealed.recordedAt.toISOString() } : {}),
    writerMacs: options.writerKeys ? 'verified' : 'presence-only',
    writerMacsChecked: writers.checked,
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

/**
 * The keyless checks: the event's own hash, its place in its stream, its link to the previous hash,
 * recorded times that never decrease (in its stream; along the whole log from hash version 2 on,
 * whose times are taken under the append lock) and hash versions that never go back.
 */
function checkChain(
  row: AuditRow,
  position: number,
  tips: Map<string, StreamTip>,
  logTip: LogTip,
  report: (p: AuditProblem) => void,
) {
  const recomputed = hashEventRow(row, row.prev_hash);
  if (recomputed !== row.hash || row.finer_than_ms) {
    report({ ...where(row, position), kind: 'altered', detail: 'the content no longer matches its hash' });
  }
  if (row.hash_version < logTip.hashVersion) {
    report({
      ...where(row, position),
      kind: 'altered',
      detail: `hash version ${row.hash_version} after version ${logTip.hashVersion}: the row was re-hashed under the old rule`,
    });
  }
  logTip.hashVersion = Math.max(logTip.hashVersion, row.hash_version);
  const time = row.recorded_at.getTime();
  if (row.hash_version >= 2) {
    if (logTip.v2RecordedAt !== undefined && time < logTip.v2RecordedAt) {
      report({
        ...where(row, position),
        kind: 'time-reversed',
        detail: `recorded ${row.recorded_at.toISOString()}, before the event at the previous position: times never decrease along the log`,
      });
    }
    logTip.v2RecordedAt = Math.max(logTip.v2RecordedAt ?? time, time);
  }
  const tip = tips.get(row.stream_id);
  if (tip && time < tip.recordedAt) {
    report({
      ...where(row, position),
      kind: 'time-reversed',
      detail: `recorded ${row.recorded_at.toISOString()}, before version ${tip.version} of its stream`,
    });
  }
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
    recordedAt: Math.max(time, tip?.recordedAt ?? time),
  });
}

/**
 * The writer MAC: required from the cut-over on, and after any row that has one (MACs never go
 * back, so stripping them from the tail shows even without the anchor's cut-over); verified when
 * the writer keys are at hand. A sealed event under a key the ring no longer holds is accepted: its
 * verified seal shows the sealer checked the MAC before signing.
 */
function checkWriter(
  row: AuditRow,
  position: number,
  ring: WriterKeyRing | undefined,
  writers: { from: number; checked: number },
  sealed: boolean,
  report: (p: AuditProblem) => void,
) {
  if (row.writer_mac === null && position < writers.from) return;
  writers.from = Math.min(writers.from, position);
  const check = row.writer_mac === null ? 'missing' : ring ? checkRowWriterMac(ring, row) : 'valid';
  if (check === 'valid') {
    if (ring) writers.checked++;
    return;
  }
  // A retired key no longer in the ring: the sealer checked this MAC before it signed the seal.
  if (check === 'unknown-key' && sealed) return;
  report({ ...where(row, position), kind: 'unauthenticated', detail: writerMacProblem(check, row.writer_mac) });
}

/** Compares a row with what its seal recorded at that position. */
async function checkAgainstSeal(
  source: AuditSource,
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
    report(
      !(await source.hasEvent(sealed.eventId))
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

interface SealTrust {
  readonly trustedKeys: ReadonlyMap<string, KeyObject>;
  readonly legacyKey: Buffer | undefined;
}

type WalkedSeal = TrustedSeal | { from: number; to: number; untrusted: true };

/**
 * Reads seals in order, checks each one's signature (or legacy HMAC) and its link to the previous
 * seal, and serves the trusted ones. Remembers every seal's digest to compare with the anchor.
 */
class SealWalker {
  checked = 0;
  trustedUpTo = 0;
  readonly keysUsed = new Set<string>();
  private readonly digests = new Map<number, string>();
  private buffer: SealRow[] = [];
  private afterNumber = 0;
  private exhausted = false;
  private current: WalkedSeal | undefined;
  private previous: { sealNumber: number; to: number; digest: string; format: number } | undefined;

  constructor(
    private readonly source: AuditSource,
    private readonly trust: SealTrust,
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

  /** Reads the remaining seals too, so their signatures and a deleted sealed tail are checked. */
  async drainUpTo(position: number): Promise<void> {
    while (!this.current || this.current.to < position) {
      const next = await this.next();
      if (!next) return;
      this.current = next;
    }
  }

  /** Every anchored seal must be in the database with the anchored digest; returns how many were compared. */
  compareWithAnchor(anchor: AnchorContent): number {
    for (const anchored of anchor.seals) {
      const digest = this.digests.get(anchored.sealNumber);
      if (digest === anchored.digest) continue;
      this.report({
        kind: 'truncated',
        globalPosition: anchored.fromPosition,
        sealNumber: anchored.sealNumber,
        detail:
          digest === undefined
            ? `seal ${anchored.sealNumber} (positions ${anchored.fromPosition}..${anchored.toPosition}) is in the anchor but not in the database: seals were deleted`
            : `seal ${anchored.sealNumber} in the database differs from the anchored one: seals were replaced`,
      });
    }
    return anchor.seals.length;
  }

  private async next(): Promise<WalkedSeal | undefined> {
    if (this.buffer.length === 0 && !this.exhausted) {
      const rows = await this.source.seals(this.afterNumber, this.pageSize);
      this.buffer = rows;
      this.exhausted = rows.length < this.pageSize;
    }
    const row = this.buffer.shift();
    if (!row) return undefined;
    this.afterNumber = row.seal_number;
    this.checked++;
    this.digests.set(row.seal_number, row.digest);
    const from = Number(row.from_position);
    const to = Number(row.to_position);
    const problem = this.problemWith(row, from, to);
    this.previous = { sealNumber: row.seal_number, to, digest: row.digest, format: row.format };
    const entries = problem ? undefined : decodeSealEntries(row.entries);
    if (problem || !entries) {
      this.report({
        kind: problem?.kind ?? 'seal-mismatch',
        globalPosition: from,
        sealNumber: row.seal_number,
        detail: problem?.detail ?? 'bad entries',
      });
      return { from, to, untrusted: true };
    }
    if (this.trustedUpTo === from - 1) this.trustedUpTo = to;
    if (row.key_id) this.keysUsed.add(row.key_id);
    return {
      sealNumber: row.seal_number,
      from,
      to,
      byPosition: new Map(entries.map((e) => [e.globalPosition, e])),
      positionOfId: new Map(entries.map((e) => [e.eventId, e.globalPosition])),
    };
  }

  private problemWith(
    row: SealRow,
    from: number,
    to: number,
  ): { kind: 'seal-mismatch' | 'seal-unverifiable'; detail: string } | undefined {
    const mismatch = (detail: string) => ({ kind: 'seal-mismatch' as const, detail });
    const expectedNumber = (this.previous?.sealNumber ?? 0) + 1;
    if (row.seal_number !== expectedNumber) return mismatch(`seal ${expectedNumber} is missing`);
    if (from !== (this.previous?.to ?? 0) + 1)
      return mismatch(`seal ${row.seal_number} does not start where seal ${expectedNumber - 1} ended`);
    if (row.prev_digest !== (this.previous?.digest ?? null)) {
      return mismatch(`seal ${row.seal_number} does not link to the digest of seal ${expectedNumber - 1}`);
    }
    const signed = this.signatureProblem(row, from, to);
    if (signed) return signed;
    const entries = decodeSealEntries(row.entries);
    if (!entries || entries.length !== row.event_count)
      return mismatch(`seal ${row.seal_number}'s entries are malformed`);
    if (
      entries.some(
        (e, i) =>
          e.globalPosition < from ||
          e.globalPosition > to ||
          (i > 0 && e.globalPosition <= entries[i - 1]!.globalPosition),
      )
    ) {
      return mismatch(`seal ${row.seal_number}'s entries lie outside its range`);
    }
    return undefined;
  }

  private signatureProblem(
    row: SealRow,
    from: number,
    to: number,
  ): { kind: 'seal-mismatch' | 'seal-unverifiable'; detail: string } | undefined {
    const content = { sealNumber: row.seal_number, fromPosition: from, toPosition: to, entries: row.entries };
    if (row.format === 1) {
      if (this.previous && this.previous.format !== 1) {
        return { kind: 'seal-mismatch', detail: `seal ${row.seal_number} is a legacy HMAC seal after a signed one` };
      }
      if (!this.trust.legacyKey) {
        return {
          kind: 'seal-unverifiable',
          detail: `seal ${row.seal_number} is a legacy HMAC seal: set SEAL_LEGACY_HMAC_KEY to the old SEAL_KEY to verify it`,
        };
      }
      const digest = computeSealDigest(this.trust.legacyKey, { ...content, prevDigest: row.prev_digest });
      return digestsEqual(digest, row.digest)
        ? undefined
        : {
            kind: 'seal-mismatch',
            detail: `seal ${row.seal_number}'s digest does not verify with the legacy seal key`,
          };
    }
    const publicKey = row.key_id ? this.trust.trustedKeys.get(row.key_id) : undefined;
    if (!row.key_id || !row.signature || !publicKey) {
      return {
        kind: 'seal-unverifiable',
        detail: `seal ${row.seal_number} is signed by key ${row.key_id ?? '(none)'}, which is not among the trusted public keys`,
      };
    }
    const message = sealMessage({ ...content, prevDigest: row.prev_digest, keyId: row.key_id });
    if (sealMessageDigest(message) !== row.digest) {
      return { kind: 'seal-mismatch', detail: `seal ${row.seal_number}'s digest does not match its content` };
    }
    if (!sealSignatureValid(publicKey, message, row.signature)) {
      return {
        kind: 'seal-mismatch',
        detail: `seal ${row.seal_number}'s signature does not verify with key ${row.key_id}`,
      };
    }
    return undefined;
  }
}
