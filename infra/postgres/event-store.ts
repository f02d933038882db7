import pg from 'pg';
import type {
  GlobalLog,
  LogSubscription,
  SubscribeOptions,
  SubscriptionStatus,
} from '../../commands/ports/event-store.js';
import {
  type AppendOptions,
  type AppendResult,
  ConcurrencyError,
  DuplicateEventIdError,
  type EventStore,
  InvalidAppendError,
  type ReadStreamOptions,
} from '../../commands/ports/event-store.js';
import type { ExpectedVersion, NewEvent, RecordedEvent } from '../../schemas/events/index.js';
import type { WriterKey, WriterKeyRing } from '../sealing/writer-keys.js';
import {
  checkExpectedVersion,
  checkIdempotencyKey,
  checkStreamId,
  type ValidEvent,
  validateNewEvents,
} from './append-input.js';
import { type AppendState, lockAppendState, readAppendState, type Written, writeEvents } from './append-sql.js';
import type { AppendWitness } from './append-witness.js';
import { EVENT_COLUMNS, EVENT_COLUMNS_DATA_AS_TEXT, type EventRow, toRecordedEvent } from './event-rows.js';
import { LogNotifier } from './log-notifier.js';
import { startLogSubscription } from './log-subscription.js';
import { SharedLogReads } from './shared-log-reads.js';
import { StreamHeadCache } from './stream-head-cache.js';

export interface PostgresEventStoreOptions {
  /** LISTEN/NOTIFY channel woken by every append. */
  readonly channel?: string;
  /** Where the dedicated LISTEN connection goes; defaults to the pool's own settings. */
  readonly listenConnection?: pg.ClientConfig;
  /** Sleep of a caught-up subscription when no notification arrives (a safety net only). */
  readonly safetyPollMs?: number;
  /** Told about LISTEN connection failures (it reconnects by itself). */
  readonly onListenError?: (error: unknown) => void;
  /** Remembers what each append wrote until the sealer (same process) seals it. */
  readonly witness?: AppendWitness;
  /**
   * The writer key ring: every appended event carries a MAC by its current key, which the sealer
   * checks before it seals anything. Without one, rows carry none and a sealer refuses them.
   */
  readonly writerKeys?: WriterKeyRing;
  /**
   * Longest pause between reconnect attempts of the LISTEN connection and between retries of a
   * failing subscription; a reconnect wakes every retrying subscription at once.
   */
  readonly maxBackoffMs?: number;
}

export const DEFAULT_EVENTS_CHANNEL = 'chitti_events';
const DEFAULT_SAFETY_POLL_MS = 5_000;
const DEFAULT_MAX_BACKOFF_MS = 5_000;
const DEFAULT_BATCH_SIZE = 500;
const MAX_READ_COUNT = 100_000;
const OPTIMISTIC_ATTEMPTS = 3;
const STREAM_HEAD_CACHE_SIZE = 10_000;
const MAX_APPEND_ATTEMPTS = 8;

/**
 * The event store on PostgreSQL: the write side's `EventStore` and the read side's `GlobalLog`.
 *
 * No reader ever skips an event. Positions come from the single `event_log_head` row, updated
 * in the same statement that inserts the rows and held until commit. A writer that wants
 * positions waits until the previous holder has committed or rolled back, and PostgreSQL makes a
 * commit visible before it releases that row lock; so when a reader sees position p, every lower
 * position is already committed and visible (or was rolled back, and is then handed out again).
 * A plain bigserial does not give this: T1 takes n, T2 takes n+1 and commits, a reader moves its
 * checkpoint past n+1, then T1 commits n behind it. The price is a short critical section per
 * append (one statement and its commit); validation, hashing and the stream check come before it.
 */
export class PostgresEventStore implements EventStore, GlobalLog {
  private readonly channel: string;
  private readonly notifier: LogNotifier;
  private readonly safetyPollMs: number;
  private readonly maxBackoffMs: number;
  private readonly subscriptions = new Set<LogSubscription>();
  private unnamed = 0;
  private readonly heads = new StreamHeadCache(STREAM_HEAD_CACHE_SIZE);
  private readonly witness: AppendWitness | undefined;
  private readonly writerKey: WriterKey | undefined;
  private readonly sharedReads: SharedLogReads;

  constructor(
    private readonly pool: pg.Pool,
    options: PostgresEventStoreOptions = {},
  ) {
    this.channel = options.channel ?? DEFAULT_EVENTS_CHANNEL;
    this.safetyPollMs = options.safetyPollMs ?? DEFAULT_SAFETY_POLL_MS;
    this.witness = options.witness;
    this.writerKey = options.writerKeys?.current;
    this.maxBackoffMs = options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
    this.notifier = new LogNotifier(
      options.listenConnection ?? (pool.options as pg.ClientConfig),
      this.channel,
      options.onListenError,
      this.maxBackoffMs,
      (payload) => this.witness?.noticed(payload),
    );
    this.sharedReads = new SharedLogReads(
      (after, maxCount) => this.readAll({ after, maxCount }),
      () => this.notifier.epoch(),
    );
  }

  async append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    checkStreamId(streamId);
    checkExpectedVersion(options.expectedVersion);
    checkIdempotencyKey(options.idempotencyKey);
    const valid = validateNewEvents(events);
    const key = options.idempotencyKey ?? null;
    for (let attempt = 1; attempt <= MAX_APPEND_ATTEMPTS; attempt++) {
      // Optimistic first (two round trips, no lock held across the network); when the stream keeps
      // moving under us, queue on its row lock instead so that 'any' writers always get through.
      const outcome =
        attempt <= OPTIMISTIC_ATTEMPTS
          ? await this.appendOptimistically(streamId, valid, options.expectedVersion, key, attempt === 1)
          : await this.appendLocked(streamId, valid, options.expectedVersion, key);
      if (outcome !== RETRY) return outcome;
    }
    throw new Error(`append to ${streamId} did not settle after ${MAX_APPEND_ATTEMPTS} attempts`);
  }

  private async appendOptimistically(
    streamId: string,
    events: readonly ValidEvent[],
    expected: ExpectedVersion,
    key: string | null,
    trustCache: boolean,
  ): Promise<AppendResult | typeof RETRY> {
    // A remembered head saves the read; if it is stale the compare-and-set fails and we read.
    const cached = trustCache ? this.heads.get(streamId) : undefined;
    const state: AppendState =
      cached && expectationHolds(expected, cached.version)
        ? { ...cached, keyStreamId: null, keyResult: null }
        : await readAppendState(this.pool, streamId, key);
    const duplicate = duplicateOf(state, streamId);
    if (duplicate) return this.withEvents(streamId, duplicate);
    checkExpected(streamId, expected, state.version);
    try {
      const written = await writeEvents(this.pool, streamId, events, state, key, this.channel, this.writerKey);
      if (!written) {
        this.heads.delete(streamId);
        return RETRY;
      }
      return this.wrote(streamId, events, state, written);
    } catch (error) {
      this.heads.delete(streamId);
      return this.settleFailure(error, streamId, expected);
    }
  }

  private async appendLocked(
    streamId: string,
    events: readonly ValidEvent[],
    expected: ExpectedVersion,
    key: string | null,
  ): Promise<AppendResult | typeof RETRY> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      try {
        const state = await lockAppendState(client, streamId, key);
        const duplicate = duplicateOf(state, streamId);
        if (duplicate) {
          await client.query('ROLLBACK');
          return await this.withEvents(streamId, duplicate);
        }
        checkExpected(streamId, expected, state.version);
        const written = await writeEvents(client, streamId, events, state, key, this.channel, this.writerKey);
        if (!written) throw new Error(`stream ${streamId} moved while its row was locked`);
        await client.query('COMMIT');
        return this.wrote(streamId, events, state, written);
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
          broken = rollbackError;
        });
        return await this.settleFailure(error, streamId, expected);
      }
    } finally {
      client.release(broken);
    }
  }

  /** Remembers the new head, tells the witness, and returns the events as the statement recorded them. */
  private wrote(streamId: string, events: readonly ValidEvent[], state: AppendState, written: Written): AppendResult {
    this.heads.set(streamId, written.head);
    const { firstGlobalPosition } = written.result;
    const recorded = events.map(
      (event, i): RecordedEvent => ({
        globalPosition: firstGlobalPosition + i,
        streamId,
        streamVersion: state.version + i + 1,
        eventId: event.eventId,
        type: event.type,
        schemaVersion: event.schemaVersion,
        data: event.data,
        metadata: event.metadata,
        recordedAt: written.recordedAt,
        hash: written.hashes[i]!,
        prevHash: i === 0 ? state.lastHash : written.hashes[i - 1]!,
        hashVersion: 2,
      }),
    );
    this.witness?.record(recorded.map(({ globalPosition, eventId, hash }) => ({ globalPosition, eventId, hash })));
    return { ...written.result, duplicate: false, events: recorded };
  }

  /** A duplicate's result with the events the first append under its key wrote (one indexed range read). */
  private async withEvents(streamId: string, result: Omit<AppendResult, 'events'>): Promise<AppendResult> {
    const { rows } = await this.pool.query<EventRow>({
      name: 'chitti_read_appended',
      text: `SELECT ${EVENT_COLUMNS} FROM events
              WHERE global_position BETWEEN $1 AND $2 AND stream_id = $3 ORDER BY global_position`,
      values: [result.firstGlobalPosition, result.lastGlobalPosition, streamId],
    });
    return { ...result, events: rows.map(toRecordedEvent) };
  }

  /** Maps a failed write to its typed error; RETRY when a concurrent append used the same idempotency key. */
  private async settleFailure(error: unknown, streamId: string, expected: ExpectedVersion): Promise<typeof RETRY> {
    const translated = translateError(error);
    if (translated === KEY_TAKEN) return RETRY;
    if (translated === STREAM_VERSION_TAKEN) {
      throw new ConcurrencyError(streamId, expected, await this.currentVersion(streamId));
    }
    throw translated;
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
    const events = rows.map(toRecordedEvent);
    const timeTravel = options.toGlobalPosition !== undefined || options.asOf !== undefined;
    const reachedEnd = backwards
      ? options.fromVersion === undefined
      : options.maxCount === undefined || events.length < options.maxCount;
    const head = backwards ? events[0] : events.at(-1);
    if (head && reachedEnd && !timeTravel) {
      this.heads.set(streamId, { version: head.streamVersion, lastHash: head.hash });
    }
    return events;
  }

  async findIdempotent(key: string): Promise<{ streamId: string; result: AppendResult } | undefined> {
    checkIdempotencyKey(key);
    const { rows } = await this.pool.query<{ stream_id: string; result: Omit<AppendResult, 'duplicate'> | null }>(
      'SELECT stream_id, result FROM idempotency_keys WHERE key = $1',
      [key],
    );
    const row = rows[0];
    if (!row?.result) return undefined;
    return {
      streamId: row.stream_id,
      result: await this.withEvents(row.stream_id, { ...row.result, duplicate: true }),
    };
  }

  async readAll(options: { after: number; maxCount: number; dataAsText?: boolean }): Promise<RecordedEvent[]> {
    checkNonNegativeInteger('after', options.after);
    checkCount(options.maxCount);
    const { rows } = await this.pool.query<EventRow>(
      options.dataAsText
        ? {
            name: 'chitti_read_all_text',
            text: `SELECT ${EVENT_COLUMNS_DATA_AS_TEXT} FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2`,
            values: [options.after, options.maxCount],
          }
        : {
            name: 'chitti_read_all',
            text: `SELECT ${EVENT_COLUMNS} FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2`,
            values: [options.after, options.maxCount],
          },
    );
    return rows.map(toRecordedEvent);
  }

  /**
   * Moves whenever an append may have happened since the last call (each commit's notification, a
   * reconnect of the LISTEN connection); undefined while this store is not listening. For caches
   * of answers that depend on the whole log.
   */
  changeEpoch(): number | undefined {
    return this.notifier.listeningEpoch();
  }

  async headPosition(): Promise<number> {
    const { rows } = await this.pool.query<{ position: string }>('SELECT position FROM event_log_head');
    return Number(rows[0]?.position ?? 0);
  }

  subscribe(options: SubscribeOptions): LogSubscription {
    checkNonNegativeInteger('after', options.after);
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    checkCount(batchSize);
    // Listening starts before the first read, so no commit between the two goes unnoticed for long.
    const listening = this.notifier.start();
    const inner = startLogSubscription(
      async (after, maxCount) => {
        await listening;
        // The relay forwards payloads as stored text: its own read. Everyone else shares one read per wake-up.
        if (options.dataAsText === true) return this.readAll({ after, maxCount, dataAsText: true });
        return this.sharedReads.read(after, maxCount);
      },
      this.notifier,
      {
        name: options.name ?? `subscription-${++this.unnamed}`,
        after: options.after,
        batchSize,
        handle: options.handle,
        ...(options.onError ? { onError: options.onError } : {}),
        safetyPollMs: this.safetyPollMs,
        maxBackoffMs: this.maxBackoffMs,
      },
    );
    const subscription: LogSubscription = {
      stop: async () => {
        this.subscriptions.delete(subscription);
        await inner.stop();
      },
      caughtUpTo: (position, waitOptions) => inner.caughtUpTo(position, waitOptions),
      status: () => inner.status(),
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  /**
   * Starts listening for commit notices without a subscription (a sealer's process): with a witness,
   * every append's notice (any process's) is kept until sealed.
   */
  listen(): Promise<void> {
    return this.notifier.start();
  }

  /** Every live subscription of this store (readiness: all must be `running`). */
  subscriptionStatus(): SubscriptionStatus[] {
    return [...this.subscriptions].map((s) => s.status());
  }

  /** Stops every subscription and the LISTEN connection; the pool stays the caller's. */
  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    await this.notifier.close();
  }
}

function duplicateOf(state: AppendState, streamId: string): Omit<AppendResult, 'events'> | undefined {
  if (!state.keyResult) return undefined;
  if (state.keyStreamId !== streamId) {
    throw new InvalidAppendError(`idempotency key was first used for another stream (${state.keyStreamId})`);
  }
  return { ...state.keyResult, duplicate: true };
}

function expectationHolds(expected: ExpectedVersion, current: number): boolean {
  return (
    expected === 'any' ||
    (expected === 'no_stream' && current === 0) ||
    (expected === 'stream_exists' && current > 0) ||
    expected === current
  );
}

function checkExpected(streamId: string, expected: ExpectedVersion, current: number): void {
  if (!expectationHolds(expected, current))
    throw new ConcurrencyError(streamId, expected, current === 0 ? 'no_stream' : current);
}

const STREAM_VERSION_TAKEN = Symbol('stream version taken');
const KEY_TAKEN = Symbol('idempotency key taken');
const RETRY = Symbol('retry');

function translateError(error: unknown): unknown {
  if (!(error instanceof pg.DatabaseError)) return error;
  if (error.code === '23505' && error.constraint === 'idempotency_keys_pkey') return KEY_TAKEN;
  if (error.code === '23505' && error.constraint === 'events_event_id_key') {
    const id = /\(event_id\)=\(([^)]+)\)/.exec(error.detail ?? '')?.[1] ?? 'unknown';
    return new DuplicateEventIdError(id);
  }
  // Unreachable while appends lock the stream row; kept as the constraint's backstop.
  if (error.code === '23505' && error.constraint === 'events_stream_version_key') return STREAM_VERSION_TAKEN;
  // Only a row written around the store can hold a position the counter has not handed out yet.
  if (error.code === '23505' && error.constraint === 'events_pkey') {
    return new LogHeadTakenError(/\(global_position\)=\((\d+)\)/.exec(error.detail ?? '')?.[1] ?? 'unknown');
  }
  // Class 22 = data exceptions, e.g. a \u0000 that jsonb cannot store: bad input, nothing written.
  if (error.code?.startsWith('22')) return new InvalidAppendError(`event rejected by the database: ${error.message}`);
  return error;
}

/** The position the log head hands out next is already taken: someone wrote a row past the head. */
export class LogHeadTakenError extends Error {
  readonly code = 'log-head-taken';
  constructor(readonly position: string) {
    super(`global position ${position} already holds a row the store did not write; run chitti audit verify`);
  }
}

function checkNonNegativeInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be an integer >= 0`);
}

function checkCount(value: number): void {
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_READ_COUNT) {
    throw new RangeError(`count must be an integer from 1 to ${MAX_READ_COUNT}`);
  }
}
