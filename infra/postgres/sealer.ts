import type pg from 'pg';
import type { EventStore } from '../../commands/ports/event-store.js';
import { SEAL_KEYS_STREAM } from '../../schemas/events/index.js';
import type { AnchoredSeal, SealAnchorFile } from '../sealing/anchor-file.js';
import { publicKeyOf, type SealSigningKey } from '../sealing/seal-keys.js';
import type { WriterKeyRing } from '../sealing/writer-keys.js';
import type { AppendWitness, Notice } from './append-witness.js';
import {
  encodeSealEntries,
  type SealEntry,
  sealMessage,
  sealMessageDigest,
  sealSignatureValid,
  signSealMessage,
} from './seal-digest.js';
import { checkRowWriterMac, noticeMacValid, writerMacProblem } from './writer-mac.js';

export interface SealerOptions {
  /** The Ed25519 key pair; the private half stays in this process. Never log it. */
  readonly signingKey: SealSigningKey;
  /** Where SealKeyActivated is recorded before the key's first seal. */
  readonly store: EventStore;
  /** The anchor outside the database; without one, truncation is caught only by the unsealed-age bound. */
  readonly anchor?: SealAnchorFile;
  /** Events per seal (the last seal of a run may be shorter). */
  readonly rangeSize?: number;
  /** This process's appends as written: sealed as witnessed, whatever the rows say by then. */
  readonly witness?: AppendWitness;
  /**
   * The writer keys: every event from the cut-over on must carry a valid writer MAC before it is
   * sealed (events this process witnessed excepted: it wrote them itself).
   */
  readonly writerKeys: WriterKeyRing;
}

export interface SealRun {
  readonly sealsWritten: number;
  /** Highest global position covered by a seal after the run (0 when nothing is sealed). */
  readonly sealedUpTo: number;
}

/** Seals were removed or replaced in the database: the sealer will not sign over that. */
export class SealChainBrokenError extends Error {
  readonly code = 'seal-chain-broken';
}

interface SealRow {
  seal_number: number;
  from_position: string;
  to_position: string;
  entries: Buffer;
  prev_digest: string | null;
  digest: string;
  key_id: string | null;
  signature: string | null;
  sealed_at: Date;
}

/**
 * An event at `position` did not come from a writer holding the writer key (no MAC after the
 * cut-over, an unknown key, or a MAC that does not verify): the sealer sealed up to the event before
 * it and will not seal past it.
 */
export class UnauthenticatedEventError extends Error {
  readonly code = 'unauthenticated-event';
  constructor(
    readonly globalPosition: number,
    readonly eventId: string,
    readonly streamId: string,
    reason: string,
  ) {
    super(`refusing to seal position ${globalPosition} (event ${eventId} of ${streamId}): ${reason}`);
  }
}

interface CandidateRow {
  global_position: string;
  event_id: string;
  hash: string;
  stream_id: string;
  stream_version: number;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: unknown;
  prev_hash: string | null;
  writer_mac: string | null;
}

/** Second key of the advisory lock that makes concurrent sealers take turns. */
const SEALER_LOCK = 0x6368736c; // 'chsl'
const DEFAULT_RANGE_SIZE = 1_000;

/**
 * Writes seals: Ed25519-signed digests over consecutive ranges of global positions, each chained
 * to the previous seal. A seal records every sealed event's position, id and hash, so `verifyAudit`
 * can name which event was deleted, inserted or re-hashed inside a sealed range. Events this
 * process appended are sealed as its witness saw them written, not as the rows read now. After each seal
 * commits, its digest goes to the anchor file (fsynced). Before sealing, the sealer checks that the
 * newest seal it anchored is still in the database unchanged, so it never signs over a truncation.
 */
export class Sealer {
  private readonly rangeSize: number;
  private prepared: Promise<void> | undefined;
  private lastAnchored: { sealNumber: number; digest: string } | undefined;
  /** The first position that must carry a writer MAC: the anchor's, else the database's at first start. */
  private writerMacsFrom = 1;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: SealerOptions,
  ) {
    this.rangeSize = options.rangeSize ?? DEFAULT_RANGE_SIZE;
    if (!Number.isSafeInteger(this.rangeSize) || this.rangeSize < 1) throw new RangeError('rangeSize must be >= 1');
    options.witness?.enable();
  }

  get keyId(): string {
    return this.options.signingKey.published.keyId;
  }

  /** Seals every committed position up to `head` (default: the log's head) not sealed yet. */
  async sealUpTo(head?: number): Promise<SealRun> {
    this.prepared ??= this.prepare().catch((error: unknown) => {
      this.prepared = undefined;
      throw error;
    });
    await this.prepared;
    let sealsWritten = 0;
    for (;;) {
      const sealed = await this.sealNextRange(head);
      if (sealed === undefined) break;
      await this.anchorSeals([sealed]);
      sealsWritten++;
    }
    return { sealsWritten, sealedUpTo: await this.sealedUpTo() };
  }

  async sealedUpTo(): Promise<number> {
    const { rows } = await this.pool.query<{ to_position: string }>(
      'SELECT to_position FROM seals ORDER BY seal_number DESC LIMIT 1',
    );
    return Number(rows[0]?.to_position ?? 0);
  }

  /**
   * Once per process: record the key in the log (idempotent per key id) and in the anchor, and
   * anchor this key's seals that committed while a crash kept them from the anchor.
   */
  private async prepare(): Promise<void> {
    const { published } = this.options.signingKey;
    await this.options.store.append(
      SEAL_KEYS_STREAM,
      [{ type: 'SealKeyActivated', data: { ...published }, metadata: { actor: 'system:sealer' } }],
      { expectedVersion: 'any', idempotencyKey: `seal-key-activated:${published.keyId}` },
    );
    const anchor = this.options.anchor;
    if (!anchor) {
      await this.loadWriterMacCutOver(undefined);
      return;
    }
    const content = await anchor.read();
    if (!content.keys.some((k) => k.keyId === published.keyId)) await anchor.append([{ kind: 'key', ...published }]);
    await this.loadWriterMacCutOver(content.writerMacsFrom);
    const mine = content.seals.filter((s) => s.keyId === published.keyId);
    const last = mine.at(-1);
    if (last) {
      this.lastAnchored = { sealNumber: last.sealNumber, digest: last.digest };
      await this.checkNotTruncated(this.pool);
    }
    const { rows } = await this.pool.query<SealRow>(
      `SELECT seal_number, from_position, to_position, entries, prev_digest, digest, key_id, signature, sealed_at
         FROM seals WHERE seal_number > $1 AND format = 2 AND key_id = $2 ORDER BY seal_number`,
      [last?.sealNumber ?? 0, published.keyId],
    );
    const publicKey = publicKeyOf(published);
    const missed = rows.filter((row) => {
      const message = sealMessage({
        sealNumber: row.seal_number,
        fromPosition: Number(row.from_position),
        toPosition: Number(row.to_position),
        entries: row.entries,
        prevDigest: row.prev_digest,
        keyId: published.keyId,
      });
      return sealMessageDigest(message) === row.digest && sealSignatureValid(publicKey, message, row.signature ?? '');
    });
    await this.anchorSeals(missed.map((row) => this.anchoredOf(row)));
  }

  /**
   * The cut-over of writer MACs. The anchor's line wins; without one (the first start after
   * migration 005) the database's value is taken once and written to the anchor, so that a row
   * editor raising it afterwards changes nothing.
   */
  private async loadWriterMacCutOver(anchored: number | undefined): Promise<void> {
    if (anchored !== undefined) {
      this.writerMacsFrom = anchored;
      return;
    }
    const { rows } = await this.pool.query<{ writer_macs_from: string }>('SELECT writer_macs_from FROM event_log_head');
    this.writerMacsFrom = Number(rows[0]?.writer_macs_from ?? 1);
    await this.options.anchor?.append([{ kind: 'writer-macs', fromPosition: this.writerMacsFrom }]);
  }

  /**
   * The first row in `rows` (ascending, none witnessed) whose writer MAC is missing after the
   * cut-over or does not verify with the writer keys.
   */
  private firstUnauthenticated(rows: readonly CandidateRow[]): UnauthenticatedEventError | undefined {
    for (const row of rows) {
      const position = Number(row.global_position);
      if (row.writer_mac === null && position < this.writerMacsFrom) continue;
      const check = checkRowWriterMac(this.options.writerKeys, row);
      if (check !== 'valid')
        return new UnauthenticatedEventError(
          position,
          row.event_id,
          row.stream_id,
          writerMacProblem(check, row.writer_mac),
        );
    }
    return undefined;
  }

  /**
   * Commit notices in from..to that the rows contradict (the event noticed there is gone or was
   * replaced) and that a writer-key holder sent: their MAC over the event id verifies, and the event
   * is not one sealed earlier elsewhere (a replayed notice of an old event).
   */
  private async contradictingNotices(
    db: pg.PoolClient,
    rows: readonly CandidateRow[],
    from: number,
    to: number,
    sealedBelow: number,
  ): Promise<Notice[]> {
    const rowAt = new Map(rows.map((r) => [Number(r.global_position), r]));
    const contradicted = (this.options.witness?.noticesBetween(from, to) ?? []).filter((notice) => {
      const row = rowAt.get(notice.globalPosition);
      if (row?.event_id === notice.eventId && row.hash === notice.hash) return false;
      return noticeMacValid(this.options.writerKeys, notice.eventId, notice.mac);
    });
    if (contradicted.length === 0) return [];
    const { rows: located } = await db.query<{ event_id: string; global_position: string }>(
      'SELECT event_id, global_position FROM events WHERE event_id = ANY($1::uuid[])',
      [contradicted.map((n) => n.eventId)],
    );
    const sealedBefore = new Set(located.filter((r) => Number(r.global_position) < sealedBelow).map((r) => r.event_id));
    return contradicted.filter((notice) => !sealedBefore.has(notice.eventId));
  }

  private anchoredOf(row: SealRow): AnchoredSeal {
    return {
      sealNumber: row.seal_number,
      fromPosition: Number(row.from_position),
      toPosition: Number(row.to_position),
      digest: row.digest,
      keyId: this.keyId,
      sealedAt: row.sealed_at.toISOString(),
    };
  }

  private async anchorSeals(seals: readonly AnchoredSeal[]): Promise<void> {
    const last = seals.at(-1);
    if (!last) return;
    await this.options.anchor?.append(seals.map((seal) => ({ kind: 'seal' as const, ...seal })));
    this.lastAnchored = { sealNumber: last.sealNumber, digest: last.digest };
  }

  /** The newest seal this sealer anchored must still be in the database, unchanged. */
  private async checkNotTruncated(db: pg.Pool | pg.PoolClient): Promise<void> {
    const anchored = this.lastAnchored;
    if (!anchored) return;
    const { rows } = await db.query<{ digest: string }>('SELECT digest FROM seals WHERE seal_number = $1', [
      anchored.sealNumber,
    ]);
    if (rows[0]?.digest !== anchored.digest) {
      throw new SealChainBrokenError(
        rows[0]
          ? `seal ${anchored.sealNumber} differs from the anchored one: refusing to seal`
          : `seal ${anchored.sealNumber} is anchored but gone from the database: refusing to seal`,
      );
    }
  }

  /** Writes one seal in its own transaction; undefined when there is nothing left to seal. */
  private async sealNextRange(head: number | undefined): Promise<AnchoredSeal | undefined> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1)', [SEALER_LOCK]);
        await this.checkNotTruncated(client);
        const last = await client.query<{ seal_number: number; to_position: string; digest: string }>(
          'SELECT seal_number, to_position, digest FROM seals ORDER BY seal_number DESC LIMIT 1',
        );
        const previous = last.rows[0];
        const witness = this.options.witness;
        const fromPosition = Number(previous?.to_position ?? 0) + 1;
        // A position this process wrote, or a writer's commit notice, above the head means rows were
        // deleted and the head wound back. Only notices with a valid MAC count, and only within one
        // range of the head: nothing makes the sealer sign empty ranges without end.
        const dbHead = Number(
          (await client.query<{ position: string }>('SELECT position FROM event_log_head')).rows[0]!.position,
        );
        const noticedAbove = await this.contradictingNotices(
          client,
          [],
          dbHead + 1,
          dbHead + this.rangeSize,
          fromPosition,
        );
        const logHead = Math.max(dbHead, witness?.highest() ?? 0, ...noticedAbove.map((n) => n.globalPosition));
        const limit = Math.min(head ?? logHead, logHead);
        if (fromPosition > limit) {
          await client.query('COMMIT');
          return undefined;
        }
        let toPosition = Math.min(fromPosition + this.rangeSize - 1, limit);
        const read = await client.query<CandidateRow>(
          `SELECT global_position, event_id, hash, stream_id, stream_version, type, schema_version, data, metadata,
                  prev_hash, writer_mac
             FROM events WHERE global_position BETWEEN $1 AND $2 ORDER BY global_position`,
          [fromPosition, toPosition],
        );
        // Witnessed positions are sealed as this process wrote them, and so are commit notices the rows
        // no longer match (the event there was deleted or replaced); every other row must prove its writer.
        const asWritten = new Map<number, SealEntry>(
          witness?.between(fromPosition, toPosition).map((e) => [e.globalPosition, e]),
        );
        for (const notice of await this.contradictingNotices(client, read.rows, fromPosition, toPosition, fromPosition))
          if (!asWritten.has(notice.globalPosition)) asWritten.set(notice.globalPosition, notice);
        const refused = this.firstUnauthenticated(read.rows.filter((r) => !asWritten.has(Number(r.global_position))));
        if (refused) {
          toPosition = refused.globalPosition - 1;
          if (toPosition < fromPosition) throw refused;
        }
        const rows = read.rows.filter((row) => Number(row.global_position) <= toPosition);
        const byPosition = new Map<number, SealEntry>(
          rows.map((row) => [
            Number(row.global_position),
            { globalPosition: Number(row.global_position), eventId: row.event_id, hash: row.hash },
          ]),
        );
        for (const entry of asWritten.values())
          if (entry.globalPosition <= toPosition) byPosition.set(entry.globalPosition, entry);
        const sealed = [...byPosition.values()].sort((a, b) => a.globalPosition - b.globalPosition);
        const entries = encodeSealEntries(sealed);
        const sealNumber = (previous?.seal_number ?? 0) + 1;
        const prevDigest = previous?.digest ?? null;
        const message = sealMessage({ sealNumber, fromPosition, toPosition, entries, prevDigest, keyId: this.keyId });
        const digest = sealMessageDigest(message);
        const signature = signSealMessage(this.options.signingKey.privateKey, message);
        const inserted = await client.query<SealRow>(
          `INSERT INTO seals (seal_number, from_position, to_position, event_count, entries, prev_digest, digest,
                              format, key_id, signature)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 2, $8, $9)
           RETURNING seal_number, from_position, to_position, entries, prev_digest, digest, key_id, signature, sealed_at`,
          [sealNumber, fromPosition, toPosition, sealed.length, entries, prevDigest, digest, this.keyId, signature],
        );
        await client.query('COMMIT');
        witness?.forgetUpTo(toPosition);
        return this.anchoredOf(inserted.rows[0]!);
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
          broken = rollbackError;
        });
        throw error;
      }
    } finally {
      client.release(broken);
    }
  }
}
