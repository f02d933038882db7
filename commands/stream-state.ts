import type { Decider } from '../domain/decider.js';
import { BoundedLru } from '../schemas/bounded-lru.js';
import { type ChittiEvent, decodeStored, type RecordedEvent } from '../schemas/events/index.js';
import type { EventStore } from './ports/event-store.js';

/** A stream folded up to `version`: what a command decides on. */
export interface StreamState<S> {
  readonly state: S;
  /** Version of the last event folded; 0 for a stream with no events. */
  readonly version: number;
  /** Hash of the last event folded (null when none): a catch-up read must continue from it. */
  readonly lastHash: string | null;
  /** Global position of the last event folded, null when none. */
  readonly lastGlobalPosition: number | null;
}

/** Any decider folding to S (only its identity and initial state are used here). */
type DeciderOf<S> = Pick<Decider<never, S, never>, 'initialState'>;

interface Entry extends StreamState<unknown> {
  readonly decider: object;
}

/**
 * The folded state of recently used streams, keyed by stream id and tagged with the version it
 * reflects, so a command on a long stream folds only what it appended instead of the whole
 * history. Bounded (least recently used entries go first).
 *
 * It is a hint, never the truth: another process (or another store instance) may have appended
 * since. Users of an entry must either guard with it (append with `version` as the expected
 * version: a stale entry then costs a ConcurrencyError and a fresh read) or catch up from it (read
 * the stream after `version` and check the hash chain continues from `lastHash`). States are
 * shared between callers and must be treated as immutable, as deciders' `evolve` already does.
 */
export class StreamStateCache {
  private readonly entries: BoundedLru<string, Entry>;

  constructor(readonly capacity = DEFAULT_CAPACITY) {
    this.entries = new BoundedLru(capacity);
  }

  get<S>(streamId: string, decider: DeciderOf<S>): StreamState<S> | undefined {
    const entry = this.entries.peek(streamId);
    if (!entry || entry.decider !== decider) return undefined;
    this.entries.get(streamId);
    return entry as StreamState<S>;
  }

  /** Keeps `folded` unless an entry at a higher version is already there (concurrent commands of one process). */
  set<S>(streamId: string, decider: DeciderOf<S>, folded: StreamState<S>): void {
    const current = this.entries.peek(streamId);
    if (current && current.decider === decider && current.version > folded.version) return;
    this.entries.set(streamId, { ...folded, decider });
  }

  delete(streamId: string): void {
    this.entries.delete(streamId);
  }

  get size(): number {
    return this.entries.size;
  }
}

const DEFAULT_CAPACITY = 5_000;
const shared = new WeakMap<EventStore, StreamStateCache>();

/** The cache of one store instance, shared by every command and lookup that uses that store. */
export function stateCacheOf(store: EventStore): StreamStateCache {
  let cache = shared.get(store);
  if (!cache) {
    cache = new StreamStateCache();
    shared.set(store, cache);
  }
  return cache;
}

/** Folds recorded events (upcast to today's shape) onto a state. */
export function foldRecorded<S, E extends ChittiEvent>(
  decider: Decider<never, S, E>,
  from: StreamState<S>,
  recorded: readonly RecordedEvent[],
): StreamState<S> {
  if (recorded.length === 0) return from;
  let state = from.state;
  for (const event of recorded) state = decider.evolve(state, decodeStored(event) as E);
  const last = recorded.at(-1)!;
  return { state, version: last.streamVersion, lastHash: last.hash, lastGlobalPosition: last.globalPosition };
}

export function initialStreamState<S>(decider: DeciderOf<S>): StreamState<S> {
  return { state: decider.initialState(), version: 0, lastHash: null, lastGlobalPosition: null };
}

/** Reads the whole stream and folds it (and remembers the result). */
export async function readFresh<S, E extends ChittiEvent>(
  store: EventStore,
  cache: StreamStateCache,
  decider: Decider<never, S, E>,
  streamId: string,
): Promise<StreamState<S> & { readonly recorded: readonly RecordedEvent[] }> {
  const recorded = await store.readStream(streamId);
  const folded = foldRecorded(decider, initialStreamState(decider), recorded);
  // What was just read replaces any entry (one left by a store that was reset would otherwise stay);
  // at worst it is older than a concurrent command's entry, which costs that stream one retry.
  cache.delete(streamId);
  if (recorded.length > 0) cache.set(streamId, decider, folded);
  return { ...folded, recorded };
}

/**
 * The stream's current state with one round trip that returns only what is new: the cached state
 * caught up with the events after its version. When the read does not continue the cached hash
 * chain (the store was reset under a long-lived process), it falls back to a full read.
 */
export async function readCurrent<S, E extends ChittiEvent>(
  store: EventStore,
  cache: StreamStateCache,
  decider: Decider<never, S, E>,
  streamId: string,
): Promise<StreamState<S>> {
  const cached = cache.get(streamId, decider);
  if (!cached) return readFresh(store, cache, decider, streamId);
  const newer = await store.readStream(streamId, { fromVersion: cached.version + 1 });
  if (newer.length === 0) return cached;
  const first = newer[0]!;
  if (
    first.streamVersion !== cached.version + 1 ||
    (first.prevHash !== undefined && first.prevHash !== cached.lastHash)
  )
    return readFresh(store, cache, decider, streamId);
  const folded = foldRecorded(decider, cached, newer);
  cache.set(streamId, decider, folded);
  return folded;
}
