import type pg from 'pg';
import type { Tx } from './sql.js';

/**
 * Runs `work` in one transaction on a pooled connection. A connection that dies while checked out
 * (server restart, terminated backend) would otherwise raise an unhandled 'error' event between
 * queries; here it only fails the transaction, and the broken connection is thrown away.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (tx: Tx) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken = error;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      broken ??= rollbackError;
    });
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
