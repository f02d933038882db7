import type pg from 'pg';
import { type EventTableRow, hashEventRow } from '../../infra/postgres/event-rows.js';
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

/** An event where a canonicaliser that is not JCS goes wrong: key order by UTF-16 code unit, number forms, escapes. */
export const jcsHardEvent: NewEvent = {
  type: 'ModelRegistered',
  data: {
    name: 'detector',
    version: '1.0.0',
    sha256: 'a'.repeat(64),
    sizeBytes: 123456789,
    task: 'detect',
    format: 'onnx',
    outputLayout: 'yolo',
    classes: ['crack', 'péché', 'pêche', '気泡', 'emoji \ud83d\ude00', '\u1e0d\u0307', '</script> \u007f'],
    inputSize: { width: 640, height: 640 },
    metrics: {
      '\u20ac': 1e21,
      '\ud83d\ude00': 5e-324,
      '\ufb33': -0.0000033333333333333333,
      '\r': 333333333.3333333,
      '1': 1e23,
      '\u0080': 0.000001,
      '\u00f6': 1e-7,
      zero: -0,
    },
    description: 'line\nbreak "quoted" \\ backslash \u000f',
    registeredBy: 'ml-engineer',
    tiling: null,
  },
  metadata: { actor: 'ml-engineer' },
};

type Query = (text: string, values?: unknown[]) => Promise<{ rows: unknown[] }>;

/**
 * What someone who can edit rows but holds no key does after editing: recompute a stream's whole
 * hash chain from its rows, under each row's own hash rule.
 */
export async function rehashStream(sql: Query, streamId: string): Promise<void> {
  const { rows } = await sql('SELECT * FROM events WHERE stream_id = $1 ORDER BY stream_version', [streamId]);
  let prev: string | null = null;
  for (const row of rows as EventTableRow[]) {
    const hash = hashEventRow(row, prev);
    await sql('UPDATE events SET hash = $1, prev_hash = $2 WHERE event_id = $3', [hash, prev, row.event_id]);
    prev = hash;
  }
}
