import pg from 'pg';
import {
  type AppendOptions,
  type AppendResult,
  ConcurrencyError,
  DuplicateEventIdError,
  type EventStore,
  InvalidAppendError,
  type ReadStreamOptions,
} from '../../commands/ports/event-store.js';
import type { GlobalLog, LogSubscription } from '../../projections/ports.js';
import type { ExpectedVersion, NewEvent, RecordedEvent } from '../../schemas/events/index.js';
import {
  checkExpectedVersion,
  checkIdempotencyKey,
  checkStreamId,
  type ValidEvent,
  validateNewEvents,
} from './append-input.js';
import { computeEventHash } from './event-hash.js';
import { EVENT_COLUMNS, type EventRow, toRecordedEvent } from './event-rows.js';
import { LogNotifier } from './log-notifier.js';
import { startLogSubscription } from './log-subscription.js';

export interface PostgresEventStoreOptions {
  /** LISTEN/NOTIFY channel woken by every append. */
  readonly channel?: string;
  /** Where the dedicated LISTEN connection goes; defaults to the pool's own settings. */
  readonly listenConnection?: pg.ClientConfig;
  /** Sleep of a caught-up subscription when no notification arrives (a safety net only). */
  readonly safetyPollMs?: number;
  /** Told about LISTEN connection failures (it reconnects by itself). */
  readonly onListenError?: (error: unknown) => void;
}

export const DEFAULT_EVENTS_CHANNEL = 'chitti_events';
const DEFAULT_SAFETY_POLL_MS = 5_000;
const DEFAULT_BATCH_SIZE = 500;
const MAX_READ_COUNT = 100_000;

interface StreamHead {
  version: number;
  last_hash: string | null;
  last_recorded_at: Date | null;
  now: Date;
}

type StoredResult = Omit<AppendResult, 'duplicate'>;

/**
 * The event store on PostgreSQL: the write side's `EventStore` and the read side's `GlobalLog`.
 *
 * No reader ever skips an event. Positions come from the single `event_log_head` row, updated
 * inside the append transaction right before the insert and held until commit. A writer that
 * wants positions waits until the previous holder has committed or rolled back, and PostgreSQL
 * makes a commit visible before it releases that row lock; so when a reader sees position p,
 * every lower position is already committed and visible (or was rolled back, and then reused).
 * A plain bigserial does not give this: T1 takes n, T2 takes n+1 and commits, a reader moves its
 * checkpoint past n+1, then T1 commits n behind it. The price is one short critical section per
 * append (update counter, insert rows, commit); validation, hashing and the per-stream lock all
 * happen before it.
 */
export class PostgresEventStore implements EventStore, GlobalLog {
  private readonly channel: string;
  private readonly notifier: LogNotifier;
  private readonly safetyPollMs: number;
  private readonly subscriptions = new Set<LogSubscription>();

  constructor(
    private readonly pool: pg.Pool,
    options: PostgresEventStoreOptions = {},
  ) {
    this.channel = options.channel ?? DEFAULT_EVENTS_CHANNEL;
    this.safetyPollMs = options.safetyPollMs ?? DEFAULT_SAFETY_POLL_MS;
    this.notifier = new LogNotifier(
      options.listenConnection ?? (pool.options as pg.ClientConfig),
      this.channel,
      options.onListenError,
    );
  }

  async append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    checkStreamId(streamId);
    checkExpectedVersion(options.expectedVersion);
    checkIdempotencyKey(options.idempotencyKey);
    const valid = validateNewEvents(events);

    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      try {
        const result = await this.appendInTransaction(client, streamId, valid, options);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
          broken = rollbackError;
        });
        const translated = translateError(error);
        if (translated === STREAM_VERSION_TAKEN) {
          throw new ConcurrencyError(streamId, options.expectedVersion, await this.currentVersion(streamId));
        }
        throw translated;
      }
    } finally {
      client.release(broken);
    }
  }

  private async appendInTransaction(
    client: pg.PoolClient,
    streamId: string,
    events: readonly ValidEvent[],
    options: AppendOptions,
  ): Promise<AppendResult> {
    const key = options.idempotencyKey;
    if (key !== undefined) {
      // Claim the key first: a concurrent retry waits here for us, then finds our committed result.
      const claim = await client.query({
        name: 'chitti_claim_idempotency_key',
        text: 'INSERT INTO idempotency_keys (key, stream_id) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING',
        values: [key, streamId],
      });
      if (claim.rowCount === 0) return await firstResult(client, key, streamId);
    }

    // Create-or-lock the stream's head row: writers of one stream queue here.
    const { rows } = await client.query<StreamHead>({
      name: 'chitti_lock_stream',
      text: `INSERT INTO streams (stream_id, version) VALUES ($1, 0)
             ON CONFLICT (stream_id) DO UPDATE SET version = streams.version
             RETURNING version, last_hash, last_recorded_at, clock_timestamp() AS now`,
      values: [streamId],
    });
    const head = rows[0]!;
    checkExpected(streamId, options.expectedVersion, head.version);

    // Recorded times never go backwards inside a stream, so `asOf` always selects a prefix.
    const recordedAt = head.last_recorded_at && head.last_recorded_at > head.now ? head.last_recorded_at : head.now;
    const versions: number[] = [];
    const hashes: string[] = [];
    const prevHashes: (string | null)[] = [];
    let prevHash = head.last_hash;
    events.forEach((event, i) => {
      const streamVersion = head.version + i + 1;
      const hash = computeEventHash({ ...event, streamId, streamVersion, recordedAt }, prevHash);
      versions.push(streamVersion);
      prevHashes.push(prevHash);
      hashes.push(hash);
      prevHash = hash;
    });

    // The serialised append section starts here and ends at COMMIT (see the class comment).
    const counter = await client.query<{ position: string }>({
      name: 'chitti_take_positions',
      text: 'UPDATE event_log_head SET position = position + $1 RETURNING position',
      values: [events.length],
    });
    const lastGlobalPosition = Number(counter.rows[0]!.position);
    const firstGlobalPosition = lastGlobalPosition - events.length + 1;
    const result: StoredResult = {
      nextExpectedVersion: head.version + events.length,
      firstGlobalPosition,
      lastGlobalPosition,
    };
    await client.query({
      name: 'chitti_insert_events',
      text: `WITH inserted AS (
               INSERT INTO events (global_position, stream_id, stream_version, event_id, type, schema_version,
                                   data, metadata, recorded_at, hash, prev_hash)
               SELECT $1::bigint + e.ordinal - 1, $2, e.stream_version, e.event_id, e.type, e.schema_version,
                      e.data, e.metadata, $3, e.hash, e.prev_hash
               FROM unnest($4::int[], $5::uuid[], $6::text[], $7::int[], $8::jsonb[], $9::jsonb[], $10::text[], $11::text[])
                    WITH ORDINALITY AS e(stream_version, event_id, type, schema_version, data, metadata, hash, prev_hash, ordinal)
             ), stream_head AS (
               UPDATE streams SET version = $12, last_hash = $13, last_recorded_at = $3 WHERE stream_id = $2
             ), idempotency AS (
               UPDATE idempotency_keys SET result = $14 WHERE key = $15
             )
             SELECT pg_notify($16, $17)`,
      values: [
        firstGlobalPosition,
        streamId,
        recordedAt,
        versions,
        events.map((e) => e.eventId),
        events.map((e) => e.type),
        events.map((e) => e.schemaVersion),
        events.map((e) => JSON.stringify(e.data)),
        events.map((e) => JSON.stringify(e.metadata)),
        hashes,
        prevHashes,
        result.nextExpectedVersion,
        prevHash,
        JSON.stringify(result),
        key ?? null,
        this.channel,
        String(lastGlobalPosition),
      ],
    });
    return { ...result, duplicate: false };
  }

  private async currentVersion(streamId: string): Promise<number | 'no_stream'> {
    const { rows } = await this.pool.query<{ version: number }>('SELECT version FROM streams WHERE stream_id = $1', [
      streamId,
    ]);
    return rows[0]?.version ? rows[0].version : 'no_stream';
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === 'backwards';
    const conditions = ['stream_id = $1'];
    const values: unknown[] = [streamId];
    const add = (condition: string, value: unknown) => {
      values.push(value);
      conditions.push(condition.replace('?', `$${values.length}`));
    };
    if (options.fromVersion !== undefined) {
      checkNonNegativeInteger('fromVersion', options.fromVersion);
      add(backwards ? 'stream_version <= ?' : 'stream_version >= ?', options.fromVersion);
    }
    if (options.toGlobalPosition !== undefined) {
      checkNonNegativeInteger('toGlobalPosition', options.toGlobalPosition);
      add('global_position <= ?', options.toGlobalPosition);
    }
    if (options.asOf !== undefined) {
      if (!(options.asOf instanceof Date) || Number.isNaN(options.asOf.getTime())) {
        throw new RangeError('asOf must be a valid Date');
      }
      add('recorded_at <= ?', options.asOf);
    }
    let limit = '';
    if (options.maxCount !== undefined) {
      checkCount(options.maxCount);
      values.push(options.maxCount);
      limit = ` LIMIT $${values.length}`;
    }
    const { rows } = await this.pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE ${conditions.join(' AND ')}
       ORDER BY stream_version ${backwards ? 'DESC' : 'ASC'}${limit}`,
      values,
    );
    return rows.map(toRecordedEvent);
  }

  async readAll(options: { after: number; maxCount: number }): Promise<RecordedEvent[]> {
    checkNonNegativeInteger('after', options.after);
    checkCount(options.maxCount);
    const { rows } = await this.pool.query<EventRow>({
      name: 'chitti_read_all',
      text: `SELECT ${EVENT_COLUMNS} FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2`,
      values: [options.after, options.maxCount],
    });
    return rows.map(toRecordedEvent);
  }

  async headPosition(): Promise<number> {
    const { rows } = await this.pool.query<{ position: string }>('SELECT position FROM event_log_head');
    return Number(rows[0]?.position ?? 0);
  }

  subscribe(options: {
    after: number;
    batchSize?: number;
    handle: (batch: readonly RecordedEvent[]) => Promise<void>;
    onError?: (error: unknown) => void;
  }): LogSubscription {
    checkNonNegativeInteger('after', options.after);
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    checkCount(batchSize);
    // Listening starts before the first read, so no commit between the two goes unnoticed for long.
    const listening = this.notifier.start();
    const inner = startLogSubscription(
      async (after, maxCount) => {
        await listening;
        return this.readAll({ after, maxCount });
      },
      this.notifier,
      {
        after: options.after,
        batchSize,
        handle: options.handle,
        ...(options.onError ? { onError: options.onError } : {}),
        safetyPollMs: this.safetyPollMs,
      },
    );
    const subscription: LogSubscription = {
      stop: async () => {
        this.subscriptions.delete(subscription);
        await inner.stop();
      },
      caughtUpTo: (position) => inner.caughtUpTo(position),
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  /** Stops every subscription and the LISTEN connection; the pool stays the caller's. */
  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    await this.notifier.close();
  }
}

async function firstResult(client: pg.PoolClient, key: string, streamId: string): Promise<AppendResult> {
  const { rows } = await client.query<{ stream_id: string; result: StoredResult | null }>(
    'SELECT stream_id, result FROM idempotency_keys WHERE key = $1',
    [key],
  );
  const row = rows[0];
  if (!row?.result) throw new Error(`idempotency key ${key} has no recorded result`);
  if (row.stream_id !== streamId) {
    throw new InvalidAppendError(`idempotency key was first used for another stream (${row.stream_id})`);
  }
  return { ...row.result, duplicate: true };
}

function checkExpected(streamId: string, expected: ExpectedVersion, current: number): void {
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' && current === 0) ||
    (expected === 'stream_exists' && current > 0) ||
    expected === current;
  if (!ok) throw new ConcurrencyError(streamId, expected, current === 0 ? 'no_stream' : current);
}

const STREAM_VERSION_TAKEN = Symbol('stream version taken');

function translateError(error: unknown): unknown {
  if (!(error instanceof pg.DatabaseError)) return error;
  if (error.code === '23505' && error.constraint === 'events_event_id_key') {
    const id = /\(event_id\)=\(([^)]+)\)/.exec(error.detail ?? '')?.[1] ?? 'unknown';
    return new DuplicateEventIdError(id);
  }
  // Unreachable while appends lock the stream row; kept as the constraint's backstop.
  if (error.code === '23505' && error.constraint === 'events_stream_version_key') return STREAM_VERSION_TAKEN;
  // Class 22 = data exceptions, e.g. a \u0000 that jsonb cannot store: bad input, nothing written.
  if (error.code?.startsWith('22')) return new InvalidAppendError(`event rejected by the database: ${error.message}`);
  return error;
}

function checkNonNegativeInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be an integer >= 0`);
}

function checkCount(value: number): void {
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_READ_COUNT) {
    throw new RangeError(`count must be an integer from 1 to ${MAX_READ_COUNT}`);
  }
}
