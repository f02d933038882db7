import type pg from 'pg';
import type { PostgresEventStore } from '../../infra/postgres/event-store.js';
import type { NewEvent } from '../../schemas/events/index.js';

/**
 * Appends once the database clock has passed the newest recorded time, so this event's recorded
 * time is strictly later than every earlier one (tests about time order need distinct times).
 */
export async function appendAfterClockTick(
  pool: pg.Pool,
  store: PostgresEventStore,
  streamId: string,
  event: NewEvent,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { rows } = await pool.query<{ ticked: boolean }>(
      `SELECT date_trunc('milliseconds', clock_timestamp()) > coalesce(recorded_at, '-infinity') AS ticked
         FROM event_log_head`,
    );
    if (rows[0]?.ticked) break;
    if (Date.now() > deadline) throw new Error('the database clock did not advance');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await store.append(streamId, [event], { expectedVersion: 'any' });
}
