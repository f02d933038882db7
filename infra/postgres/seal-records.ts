import type { EventStore } from '../../commands/ports/event-store.js';
import { SEAL_KEYS_STREAM } from '../../schemas/events/index.js';
import type { PublishedSealKey } from '../sealing/seal-keys.js';
import {
  type AuditReport,
  type Queryable,
  type SealRow,
  type VerifyAuditOptions,
  verifyAudit,
} from './audit-verify.js';
import { sealCovering } from './seal-lookup.js';

/** A seal as exported and published: everything an auditor needs to check it offline. */
export interface SealRecord {
  readonly sealNumber: number;
  readonly fromPosition: number;
  readonly toPosition: number;
  readonly eventCount: number;
  /** The packed entries, base64: per event position (8 bytes BE) | event id (16) | sha256 (32). */
  readonly entries: string;
  readonly prevDigest: string | null;
  readonly digest: string;
  /** 1: legacy HMAC; 2: Ed25519 signature by keyId. */
  readonly format: number;
  readonly keyId: string | null;
  /** Ed25519 signature, base64. */
  readonly signature: string | null;
  readonly sealedAt: string;
}

/** A key as the log recorded it (SealKeyActivated). */
export interface RecordedSealKey extends PublishedSealKey {
  readonly activatedAt: string;
  readonly globalPosition: number;
}

interface SealRecordRow extends SealRow {
  sealed_at: Date;
}

/** Seals whose range overlaps from..to, in order. */
export async function readSeals(db: Queryable, range: { from: number; to: number }): Promise<SealRecord[]> {
  const { rows } = await db.query<SealRecordRow>(
    `SELECT seal_number, from_position, to_position, event_count, entries, prev_digest, digest, format, key_id,
            signature, sealed_at
       FROM seals WHERE to_position >= $1 AND from_position <= $2 ORDER BY seal_number`,
    [range.from, range.to],
  );
  return rows.map((row) => ({
    sealNumber: row.seal_number,
    fromPosition: Number(row.from_position),
    toPosition: Number(row.to_position),
    eventCount: row.event_count,
    entries: row.entries.toString('base64'),
    prevDigest: row.prev_digest,
    digest: row.digest,
    format: row.format,
    keyId: row.key_id,
    signature: row.signature,
    sealedAt: row.sealed_at.toISOString(),
  }));
}

/** Every seal key the log recorded, oldest first. Published, not trusted: trust comes from the anchor or the auditor. */
export async function readSealKeys(store: Pick<EventStore, 'readStream'>): Promise<RecordedSealKey[]> {
  const events = await store.readStream(SEAL_KEYS_STREAM);
  return events.flatMap((event) => {
    if (event.type !== 'SealKeyActivated') return [];
    const data = event.data as PublishedSealKey;
    return [
      {
        keyId: data.keyId,
        algorithm: data.algorithm,
        publicKeyPem: data.publicKeyPem,
        activatedAt: event.recordedAt.toISOString(),
        globalPosition: event.globalPosition,
      },
    ];
  });
}

/** The audit port over PostgreSQL: verify with the trust inputs of the moment, list keys and seals. */
export function postgresAuditVerifier(
  pool: Queryable,
  store: Pick<EventStore, 'readStream'>,
  inputs: () => Promise<VerifyAuditOptions>,
): {
  verify(): Promise<AuditReport>;
  sealKeys(): Promise<RecordedSealKey[]>;
  seals(range: { from: number; to: number }): Promise<SealRecord[]>;
  sealCovering(globalPosition: number): ReturnType<typeof sealCovering>;
} {
  return {
    verify: async () => verifyAudit(pool, await inputs()),
    sealKeys: () => readSealKeys(store),
    seals: (range) => readSeals(pool, range),
    sealCovering: (position) => sealCovering(pool, position),
  };
}
