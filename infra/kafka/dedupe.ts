import type pg from 'pg';

/**
 * Runs a consumer's effect at most once per (consumer, event id). The effect receives the store's
 * transaction (`Tx`) so that, when it writes to the same database, its writes and the
 * "processed" mark commit together or not at all.
 */
export interface DedupeStore<Tx> {
  runOnce(consumer: string, eventId: string, effect: (tx: Tx) => Promise<void>): Promise<'processed' | 'duplicate'>;
}

/**
 * Postgres ledger `kafka_integration.processed_events`. The mark is inserted first: a concurrent
 * duplicate (a redelivery to another group member during a rebalance) blocks on the primary key
 * until this transaction ends, then sees the row and skips.
 */
export class PostgresDedupeStore implements DedupeStore<pg.PoolClient> {
  constructor(private readonly pool: pg.Pool) {}

  async runOnce(
    consumer: string,
    eventId: string,
    effect: (tx: pg.PoolClient) => Promise<void>,
  ): Promise<'processed' | 'duplicate'> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const inserted = await client.query(
        `INSERT INTO kafka_integration.processed_events (consumer, event_id) VALUES ($1, $2)
         ON CONFLICT DO NOTHING`,
        [consumer, eventId],
      );
      if (inserted.rowCount === 0) {
        await client.query('ROLLBACK');
        return 'duplicate';
      }
      await effect(client);
      await client.query('COMMIT');
      return 'processed';
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Whether the consumer has processed the event (for tests and diagnostics). */
  async isProcessed(consumer: string, eventId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'SELECT 1 FROM kafka_integration.processed_events WHERE consumer = $1 AND event_id = $2',
      [consumer, eventId],
    );
    return (rowCount ?? 0) > 0;
  }
}
