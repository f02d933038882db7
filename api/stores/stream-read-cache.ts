import { Counter, type Registry } from 'prom-client';
import type { GlobalLog, LogSubscription } from '../../commands/ports/event-store.js';
import type { RecordedEvent } from '../../schemas/events/index.js';

/** A cached answer: the JSON text one group of readers gets, and the stream version it shows. */
export interface CachedRead {
  readonly version: number;
  readonly text: string;
}

interface Entry {
  readonly version: number;
  /** Answer text by reader variant (the roles' disclosure view). */
  readonly variants: Map<string, string>;
}

export interface StreamReadCacheOptions {
  /** Streams whose answers are kept (least recently used go first). */
  readonly maxStreams?: number;
  /** Streams whose latest version is remembered; past it, streams never seen stop being cacheable. */
  readonly maxKnownStreams?: number;
  /** Where `chitti_read_cache_lookups_total{cache,result}` goes. */
  readonly registry?: Registry;
  /** The `cache` label of the metric. */
  readonly name: string;
  /** Streams whose answers this cache keeps (`inspection-`): versions of others are not noted. */
  readonly streamPrefix: string;
}

/**
 * Read-model answers (already serialised, one per disclosure view) keyed by stream and valid for
 * exactly one stream version. It never answers older than what this process knows:
 *
 * - every version of every stream the process hears of is noted (`note`): the versions its own
 *   commands return, at once, before the write's response leaves; each batch an in-process
 *   projector is about to apply (`notingAhead`); and, through a log subscription that starts at
 *   or before the read model's checkpoint (`follow`), every event any process appends;
 * - an answer is kept only when its version is at least the latest noted for its stream (a row read
 *   while the projection lags is served, as without the cache, but not kept), and for a stream
 *   never noted only while no noted version was ever forgotten;
 * - a request that names a newer version (`If-None-Match: "<version>"`, e.g. the ETag its own
 *   write returned through another replica) bypasses an older entry.
 *
 * So a client never gets from the cache what the read model no longer says, and never older than
 * the version its own write returned.
 */
export class StreamReadCache {
  private readonly entries = new Map<string, Entry>();
  private readonly known = new Map<string, number>();
  private forgotten = false;
  private readonly maxStreams: number;
  private readonly maxKnown: number;
  private readonly lookups: { hit(): void; miss(): void; bypass(): void };
  private readonly prefix: string;
  private subscription: LogSubscription | undefined;

  constructor(options: StreamReadCacheOptions) {
    this.maxStreams = options.maxStreams ?? 2_000;
    this.maxKnown = options.maxKnownStreams ?? 200_000;
    this.prefix = options.streamPrefix;
    const name = 'chitti_read_cache_lookups_total';
    const registered = options.registry?.getSingleMetric(name) as Counter<'cache' | 'result'> | undefined;
    const counter =
      registered ??
      new Counter({
        name,
        help: 'Read-model cache lookups of the API, by cache and result (hit, miss, bypass: the request named a newer version)',
        labelNames: ['cache', 'result'],
        registers: options.registry ? [options.registry] : [],
      });
    const hit = counter.labels({ cache: options.name, result: 'hit' });
    const miss = counter.labels({ cache: options.name, result: 'miss' });
    const bypass = counter.labels({ cache: options.name, result: 'bypass' });
    this.lookups = { hit: () => hit.inc(), miss: () => miss.inc(), bypass: () => bypass.inc() };
  }

  /**
   * Notes every version appended to the log after `after`, which must be at or before the read
   * model's checkpoint when the cache is first used (so that no event the read model has not
   * applied yet goes unnoted). Until it runs, nothing is kept.
   */
  follow(log: GlobalLog, after: number, onError?: (error: unknown) => void): void {
    if (this.subscription) throw new Error('the cache already follows the log');
    this.subscription = log.subscribe({
      after,
      batchSize: 1000,
      name: `read-cache:${this.prefix}`,
      handle: async (batch) => {
        for (const event of batch) this.note(event.streamId, event.streamVersion);
      },
      ...(onError ? { onError } : {}),
    });
  }

  /**
   * The log as a read model's projector in this process should see it: each batch is noted here
   * before the projection applies it, so the cache knows a version before the read model shows it
   * (embedded mode). Other processes' projectors are covered by `follow` alone.
   */
  notingAhead(log: GlobalLog): GlobalLog {
    const noteAll = (batch: readonly RecordedEvent[]) => {
      for (const event of batch) this.note(event.streamId, event.streamVersion);
    };
    return {
      readAll: (options) => log.readAll(options),
      headPosition: () => log.headPosition(),
      subscribe: (options) =>
        log.subscribe({
          ...options,
          handle: async (batch) => {
            noteAll(batch);
            await options.handle(batch);
          },
        }),
    };
  }

  async stop(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = undefined;
    this.entries.clear();
    await subscription?.stop();
  }

  /** The stream is at `version` or later: older answers go. */
  note(streamId: string, version: number): void {
    if (!streamId.startsWith(this.prefix)) return;
    const known = this.known.get(streamId);
    if (known !== undefined && known >= version) return;
    this.known.delete(streamId);
    this.known.set(streamId, version);
    if (this.known.size > this.maxKnown) {
      this.known.delete(this.known.keys().next().value!);
      this.forgotten = true;
    }
    const entry = this.entries.get(streamId);
    if (entry && entry.version < version) this.entries.delete(streamId);
  }

  /** The answer for this reader variant, unless it is older than `atLeast` (the version the client named). */
  get(streamId: string, variant: string, atLeast = 0): CachedRead | undefined {
    const entry = this.entries.get(streamId);
    const text = entry?.variants.get(variant);
    if (!entry || text === undefined) {
      this.lookups.miss();
      return undefined;
    }
    if (entry.version < atLeast) {
      this.lookups.bypass();
      return undefined;
    }
    this.lookups.hit();
    // Most recently used last: eviction takes the first.
    this.entries.delete(streamId);
    this.entries.set(streamId, entry);
    return { version: entry.version, text };
  }

  /** Keeps an answer read from the read model, when it is as new as everything noted for its stream. */
  set(streamId: string, variant: string, version: number, text: string): void {
    if (!this.subscription) return;
    const known = this.known.get(streamId);
    if (known === undefined ? this.forgotten : version < known) return;
    let entry = this.entries.get(streamId);
    if (entry && entry.version > version) return;
    if (!entry || entry.version < version) {
      entry = { version, variants: new Map() };
      this.entries.delete(streamId);
      this.entries.set(streamId, entry);
      if (this.entries.size > this.maxStreams) this.entries.delete(this.entries.keys().next().value!);
    }
    entry.variants.set(variant, text);
  }
}

const STRONG_VERSION = /^\s*"(\d+)"\s*$/;

/**
 * The version a client names with `If-None-Match: "<version>"` (a single strong ETag as Chitti
 * sends them), 0 when it names none: the cache must not answer older than that.
 */
export function namedVersion(ifNoneMatch: string | undefined): number {
  if (!ifNoneMatch) return 0;
  let highest = 0;
  for (const tag of ifNoneMatch.split(',')) {
    const match = STRONG_VERSION.exec(tag);
    if (match) highest = Math.max(highest, Number(match[1]));
  }
  return highest;
}
