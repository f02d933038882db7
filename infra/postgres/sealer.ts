import type pg from 'pg';
import { computeSealDigest, encodeSealEntries, sealKeyBytes } from './seal-digest.js';

export interface SealerOptions {
  /** HMAC key; whoever can edit rows but lacks it cannot forge seals. Never log it. */
  readonly sealKey: string | Uint8Array;
  /** Events per seal (the last seal of a run may be shorter). */
  readonly rangeSize?: number;
}

export interface SealRun {
  readonly sealsWritten: number;
  /** Highest global position covered by a seal after the run (0 when nothing is sealed). */
  readonly sealedUpTo: number;
}

/** Second key of the advisory lock that makes concurrent sealers take turns. */
const SEALER_LOCK = 0x6368736c; // 'chsl'
const DEFAULT_RANGE_SIZE = 1_000;

/**
 * Writes seals: keyed digests over consecutive ranges of global positions, each chained to the
 * previous seal. A seal records every sealed event's position, id and hash, so `verifyAudit` can
 * name which event was deleted, inserted or re-hashed inside a sealed range.
 */
export class Sealer {
  private readonly key: Buffer;
  private readonly rangeSize: number;

  constructor(
    private readonly pool: pg.Pool,
    options: SealerOptions,
  ) {
    this.key = sealKeyBytes(options.sealKey);
    this.rangeSize = options.rangeSize ?? DEFAULT_RANGE_SIZE;
    if (!Number.isSafeInteger(this.rangeSize) || this.rangeSize < 1) throw new RangeError('rangeSize must be >= 1');
  }

  /** Seals every committed position up to `head` (default: the log's head) not sealed yet. */
  async sealUpTo(head?: number): Promise<SealRun> {
    let sealsWritten = 0;
    for (;;) {
      const sealed = await this.sealNextRange(head);
      if (sealed === undefined) break;
      sealsWritten++;
    }
    return { sealsWritten, sealedUpTo: await this.sealedUpTo() };
  }

  /** Runs sealUpTo every `intervalMs` until stopped; failures go to onError and the next tick retries. */
  runPeriodically(intervalMs: number, onError: (error: unknown) => void): { stop(): Promise<void> } {
    let running: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      running = running.then(() => this.sealUpTo().catch(onError));
    }, intervalMs);
    return {
      async stop() {
        clearInterval(timer);
        await running;
      },
    };
  }

  async sealedUpTo(): Promise<number> {
    const { rows } = await this.pool.query<{ to_position: string }>(
      'SELECT to_position FROM seals ORDER BY seal_number DESC LIMIT 1',
    );
    return Number(rows[0]?.to_position ?? 0);
  }

  /** Writes one seal in its own transaction; undefined when there is nothing left to seal. */
  private async sealNextRange(head: number | undefined): Promise<number | undefined> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1)', [SEALER_LOCK]);
        const last = await client.query<{ seal_number: number; to_position: string; digest: string }>(
          'SELECT seal_number, to_position, digest FROM seals ORDER BY seal_number DESC LIMIT 1',
        );
        const previous = last.rows[0];
        const logHead = Number(
          (await client.query<{ position: string }>('SELECT position FROM event_log_head')).rows[0]!.position,
        );
        const limit = Math.min(head ?? logHead, logHead);
        const fromPosition = Number(previous?.to_position ?? 0) + 1;
        if (fromPosition > limit) {
          await client.query('COMMIT');
          return undefined;
        }
        const toPosition = Math.min(fromPosition + this.rangeSize - 1, limit);
        const { rows } = await client.query<{ global_position: string; event_id: string; hash: string }>(
          `SELECT global_position, event_id, hash FROM events
            WHERE global_position BETWEEN $1 AND $2 ORDER BY global_position`,
          [fromPosition, toPosition],
        );
        const entries = encodeSealEntries(
          rows.map((row) => ({ globalPosition: Number(row.global_position), eventId: row.event_id, hash: row.hash })),
        );
        const sealNumber = (previous?.seal_number ?? 0) + 1;
        const prevDigest = previous?.digest ?? null;
        const digest = computeSealDigest(this.key, { sealNumber, fromPosition, toPosition, entries, prevDigest });
        await client.query(
          `INSERT INTO seals (seal_number, from_position, to_position, event_count, entries, prev_digest, digest)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [sealNumber, fromPosition, toPosition, rows.length, entries, prevDigest, digest],
        );
        await client.query('COMMIT');
        return sealNumber;
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
