import type pg from 'pg';

/**
 * How long the at-most-once bookkeeping is kept. Inside the window a redelivered message or a
 * retried request is still recognised; after it, its row is deleted, so these tables stay bounded
 * instead of growing with every event and request ever seen.
 *
 * - `dedupeDays`: consumers' processed-event marks (`kafka_integration.processed_events`). Must
 *   exceed how late a redelivery can come: the topics' retention, if consumers may be reset to
 *   the earliest offset.
 * - `idempotencyHours`: `Idempotency-Key` records, the API's responses (`api.idempotent_requests`)
 *   and the event store's append results (`idempotency_keys`): a retry after the window is a new
 *   request.
 */
export interface RetentionWindow {
  readonly dedupeDays: number;
  readonly idempotencyHours: number;
}

/** Rows deleted per statement: short transactions, no long lock on a busy table. */
const BATCH = 5_000;

const TABLES = [
  { table: 'kafka_integration.processed_events', column: 'processed_at', window: 'dedupe' },
  { table: 'api.idempotent_requests', column: 'created_at', window: 'idempotency' },
  { table: 'public.idempotency_keys', column: 'created_at', window: 'idempotency' },
] as const;

export type PrunedRows = Record<(typeof TABLES)[number]['table'], number>;

/** Deletes every row older than its window, in batches; safe to run from several processes at once. */
export async function pruneExpired(pool: pg.Pool, window: RetentionWindow): Promise<PrunedRows> {
  const pruned = {} as Record<string, number>;
  for (const { table, column, window: kind } of TABLES) {
    const age = kind === 'dedupe' ? `make_interval(days => $1)` : `make_interval(hours => $1)`;
    const keep = kind === 'dedupe' ? window.dedupeDays : window.idempotencyHours;
    let total = 0;
    for (;;) {
      const { rowCount } = await pool.query(
        `DELETE FROM ${table} WHERE ctid = ANY (ARRAY(
           SELECT ctid FROM ${table} WHERE ${column} < now() - ${age} LIMIT ${BATCH} FOR UPDATE SKIP LOCKED))`,
        [keep],
      );
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < BATCH) break;
    }
    pruned[table] = total;
  }
  return pruned as PrunedRows;
}
