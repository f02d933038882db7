import type { Queryable } from './audit-verify.js';

/**
 * The newest seal whose range holds a global position: what a report names as the seal covering
 * its events. Null while the position is unsealed (the sealer has not reached it).
 */
export async function sealCovering(db: Queryable, globalPosition: number) {
  const { rows } = await db.query(
    `SELECT seal_number, from_position, to_position, digest, sealed_at FROM seals
      WHERE from_position <= $1 AND to_position >= $1 ORDER BY seal_number DESC LIMIT 1`,
    [globalPosition],
  );
  const row = rows[0] as
    | { seal_number: number; from_position: string; to_position: string; digest: string; sealed_at: Date }
    | undefined;
  if (!row) return null;
  return {
    sealNumber: Number(row.seal_number),
    fromPosition: Number(row.from_position),
    toPosition: Number(row.to_position),
    digest: row.digest,
    sealedAt: row.sealed_at.toISOString(),
  };
}
