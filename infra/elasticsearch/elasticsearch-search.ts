/**
 * The search port on Elasticsearch 8 (distributed mode).
 *
 * Writes: one `_bulk` per batch into the concrete indexes of the generation the aliases point at
 * when the batch starts; documents are keyed by event id (+ detection id), so a replayed batch
 * overwrites with identical content. Then the checkpoint document, in the same generation's state
 * index, with `version = position, version_type = external_gte`: Elasticsearch refuses to move it
 * backwards, without any script.
 *
 * Why the checkpoint lives in Elasticsearch, not Postgres: the two cannot commit together anyway,
 * so the exactly-once effect comes from idempotent ids plus "checkpoint after the data". Keeping it
 * beside the data means it can never claim more than the index holds: a lost or restored cluster,
 * or a rebuilt generation, brings its own checkpoint along and the projector replays from there.
 *
 * Upgrades: a generation's id names its mapping version. prepare() replaces a live generation of an
 * older version (strict mappings would refuse the new fields, and its documents lack them) with a
 * new one, rebuilt from the log when one is given.
 */
import { type Client, errors } from '@elastic/elasticsearch';
import type { GlobalLog } from '../../commands/ports/event-store.js';
import {
  type AuditDocument,
  type DetectionDocument,
  decodeEvents,
  type FileFacts,
  fileIdsNeeded,
  type InspectionFacts,
  inspectionFactsOf,
  inspectionIdsNeeded,
  planSearchBatch,
} from '../../projections/search/documents.js';
import {
  type AuditHit,
  type DetectionHit,
  type Freshness,
  type IndexBatchResult,
  SearchCheckpointBehindError,
  type SearchIndex,
  type SearchPage,
  type SearchQueries,
  SearchUnavailableError,
} from '../../projections/search/ports.js';
import type { RecordedEvent } from '../../schemas/events/index.js';
import {
  type AuditQueryInput,
  type DetectionQueryInput,
  nextCursorOf,
  parseAuditQuery,
  parseDetectionQuery,
  type SearchCursor,
} from '../../schemas/search-query.js';
import {
  aliasOf,
  CHECKPOINT_ID,
  createGeneration,
  currentGeneration,
  type GenerationIndices,
  indicesOf,
  MAPPING_VERSION,
  mappingVersionOf,
  swapAliases,
} from './indices.js';

export interface ElasticsearchSearchOptions {
  /** Index and alias name prefix (lower case); default `chitti`. */
  readonly prefix?: string;
  /** Highest position of the event log (GlobalLog.headPosition), for staleness reporting. */
  readonly headPosition: () => Promise<number>;
  /** Write into and read from this generation's indexes instead of the aliases (used by rebuild). */
  readonly generation?: string;
  /** Most operations per `_bulk` request. */
  readonly maxBulkOperations?: number;
  /**
   * The log prepare() rebuilds a generation of an older mapping version from. Without it prepare()
   * swaps in an empty generation and the projector refills it.
   */
  readonly log?: GlobalLog;
}

export interface RebuildResult {
  readonly generation: string;
  /** The new generation's checkpoint when the aliases moved. */
  readonly position: number;
  readonly events: number;
}

/** One or more bulk items failed: nothing is checkpointed, the batch is retried as a whole. */
export class SearchBulkError extends Error {
  readonly code = 'search-bulk-failed';
  constructor(readonly failures: readonly { id: string; status: number; type: string; reason: string }[]) {
    super(
      `${failures.length} bulk item(s) failed, first: ${failures[0]?.id} ${failures[0]?.status} ${failures[0]?.type}: ${failures[0]?.reason}`,
    );
  }
}

interface StoredCheckpoint {
  readonly position: number;
  readonly generation: string;
}

/** What the state index holds: the checkpoint and the projection's facts, told apart by `kind`. */
type StateDocument =
  | ({ readonly kind: 'checkpoint' } & StoredCheckpoint)
  | ({ readonly kind: 'inspection' } & InspectionFacts)
  | ({ readonly kind: 'file' } & FileFacts);

const fileFactsOf = (f: FileFacts): FileFacts => ({
  fileId: f.fileId,
  name: f.name,
  tags: f.tags,
  detectionDocIds: f.detectionDocIds,
});

function isUnavailable(error: unknown): boolean {
  if (
    error instanceof errors.ConnectionError ||
    error instanceof errors.NoLivingConnectionsError ||
    error instanceof errors.TimeoutError
  ) {
    return true;
  }
  if (error instanceof errors.ResponseError) {
    const status = error.meta.statusCode ?? 0;
    return status === 429 || status >= 500 || error.message.includes('index_not_found_exception');
  }
  return false;
}

async function guarded<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isUnavailable(error)) {
      throw new SearchUnavailableError(`elasticsearch: ${what} failed: ${(error as Error).message}`, { cause: error });
    }
    throw error;
  }
}

interface SourceHit<T> {
  _id?: string;
  _source?: T;
  sort?: unknown[];
}

export class ElasticsearchSearch implements SearchIndex, SearchQueries {
  readonly prefix: string;
  private readonly maxBulkOperations: number;

  constructor(
    private readonly client: Client,
    private readonly options: ElasticsearchSearchOptions,
  ) {
    this.prefix = options.prefix ?? 'chitti';
    if (!/^[a-z0-9][a-z0-9_-]*$/.test(this.prefix)) throw new Error(`invalid index prefix '${this.prefix}'`);
    this.maxBulkOperations = options.maxBulkOperations ?? 5000;
  }

  /**
   * Creates the first generation and its aliases when none exists, and replaces a live generation of
   * an older mapping version. Processes starting together may each rebuild one; the last swap wins
   * and projectors resume from its checkpoint.
   */
  async prepare(): Promise<void> {
    if (this.options.generation) return;
    await guarded('prepare', async () => {
      const live = await currentGeneration(this.client, this.prefix);
      if (live !== null && mappingVersionOf(live) >= MAPPING_VERSION) return;
      if (live !== null && this.options.log) {
        await this.rebuild(this.options.log);
        return;
      }
      const generation = await createGeneration(this.client, this.prefix);
      await swapAliases(this.client, this.prefix, generation);
    });
  }

  /**
   * Replays the whole log into a fresh generation while queries keep using the live one, then moves
   * all aliases to it in one atomic `_aliases` request.
   */
  async rebuild(log: GlobalLog, options: { batchSize?: number } = {}): Promise<RebuildResult> {
    const generation = await createGeneration(this.client, this.prefix);
    const target = new ElasticsearchSearch(this.client, {
      prefix: this.prefix,
      generation,
      headPosition: () => log.headPosition(),
      maxBulkOperations: this.maxBulkOperations,
    });
    let position = 0;
    let events = 0;
    for (;;) {
      const batch = await log.readAll({ after: position, maxCount: options.batchSize ?? 1000 });
      if (batch.length === 0) break;
      const result = await target.indexBatch(batch, { after: position });
      position = result.position;
      events += result.applied;
    }
    await target.refresh();
    await swapAliases(this.client, this.prefix, generation);
    return { generation, position, events };
  }

  async checkpoint(): Promise<number> {
    return (await guarded('checkpoint', () => this.readCheckpoint())).position;
  }

  async refresh(): Promise<void> {
    await guarded('refresh', async () => {
      await this.client.indices.refresh({ index: Object.values(this.readTargets()) });
    });
  }

  indexBatch(events: readonly RecordedEvent[], options: { after?: number } = {}): Promise<IndexBatchResult> {
    return guarded('indexBatch', async () => {
      // One round trip for the checkpoint and the facts the batch's own events name; a second
      // only for files reached through inspections indexed earlier.
      const all = decodeEvents(events);
      const eventFileIds = fileIdsNeeded(all, new Map());
      const first = await this.client.mget<StateDocument>({
        index: this.readTargets().state,
        ids: [
          CHECKPOINT_ID,
          ...inspectionIdsNeeded(all).map((id) => `inspection:${id}`),
          ...eventFileIds.map((id) => `file:${id}`),
        ],
      });
      const state = first.docs.flatMap((doc) => ('found' in doc && doc.found && doc._source ? [doc._source] : []));
      const stored = state.find((d): d is StoredCheckpoint & StateDocument => d.kind === 'checkpoint');
      if (!stored) throw new SearchUnavailableError(`elasticsearch: no checkpoint in ${this.readTargets().state}`);
      if (options.after !== undefined && stored.position < options.after) {
        throw new SearchCheckpointBehindError(stored.position, options.after);
      }
      const decoded = all.filter((e) => e.recorded.globalPosition > stored.position);
      if (decoded.length === 0) return { position: stored.position, applied: 0 };
      // Everything goes to the generation read above, even if the aliases move meanwhile.
      const target = indicesOf(this.prefix, stored.generation);
      const inspections = new Map<string, InspectionFacts>();
      const files = new Map<string, FileFacts>();
      for (const doc of state) {
        if (doc.kind === 'inspection') {
          inspections.set(doc.inspectionId, inspectionFactsOf(doc));
        }
        if (doc.kind === 'file') files.set(doc.fileId, fileFactsOf(doc));
      }
      const fetched = new Set(eventFileIds);
      const more = fileIdsNeeded(decoded, inspections).filter((id) => !fetched.has(id));
      for (const f of await this.loadFiles(target, more)) files.set(f.fileId, f);
      const plan = planSearchBatch(decoded, { files, inspections });
      const operations: object[] = [];
      for (const doc of plan.detections) operations.push({ index: { _index: target.detections, _id: doc.id } }, doc);
      for (const doc of plan.audit) operations.push({ index: { _index: target.audit, _id: doc.eventId } }, doc);
      for (const retag of plan.retags) {
        const partial = { fileName: retag.fileName, tags: retag.tags, searchText: retag.searchText };
        for (const id of retag.docIds)
          operations.push({ update: { _index: target.detections, _id: id } }, { doc: partial });
      }
      for (const { docId, review } of plan.reviews) {
        operations.push({ update: { _index: target.detections, _id: docId } }, { doc: { review } });
      }
      for (const { verdict, docIds } of plan.verdicts) {
        for (const id of docIds)
          operations.push({ update: { _index: target.detections, _id: id } }, { doc: { acceptance: verdict } });
      }
      for (const f of plan.files) {
        operations.push({ index: { _index: target.state, _id: `file:${f.fileId}` } }, { kind: 'file', ...f });
      }
      for (const i of plan.inspections) {
        operations.push(
          { index: { _index: target.state, _id: `inspection:${i.inspectionId}` } },
          { kind: 'inspection', ...i },
        );
      }
      await this.bulk(operations);
      const position = Math.max(stored.position, plan.position);
      await this.writeCheckpoint(target, { position, generation: stored.generation });
      return { position, applied: decoded.length };
    });
  }

  async searchDetections(input: DetectionQueryInput): Promise<SearchPage<DetectionHit>> {
    const query = parseDetectionQuery(input);
    return guarded('searchDetections', async () => {
      const filter: object[] = [];
      if (query.className !== undefined) filter.push({ term: { className: query.className } });
      if (query.minScore !== undefined || query.maxScore !== undefined) {
        filter.push({ range: { score: { gte: query.minScore, lte: query.maxScore } } });
      }
      if (query.model !== undefined) filter.push({ term: { modelName: query.model } });
      if (query.modelVersion !== undefined) filter.push({ term: { modelVersion: query.modelVersion } });
      if (query.minLengthMm !== undefined) filter.push({ range: { 'size.lengthMm': { gte: query.minLengthMm } } });
      if (query.verdict === 'unreviewed') {
        filter.push({ term: { role: 'live' } }, { bool: { must_not: { exists: { field: 'review.verdict' } } } });
      } else if (query.verdict !== undefined) filter.push({ term: { 'review.verdict': query.verdict } });
      if (query.acceptance !== undefined) filter.push({ term: { acceptance: query.acceptance } });
      filter.push(...commonFilters(query));
      const indexedPosition = (await this.readCheckpoint()).position;
      const response = await this.client.search<DetectionDocument>({
        index: this.readTargets().detections,
        query: { bool: { filter } } as never,
        sort: [{ globalPosition: 'desc' }, { id: 'asc' }],
        search_after: searchAfterOf(query.after),
        size: query.limit,
        track_total_hits: false,
        _source: { excludes: ['searchText'] },
      });
      const items = (response.hits.hits as SourceHit<DetectionHit>[]).map((h) => ({
        ...h._source!,
        review: h._source!.review ?? null,
        acceptance: h._source!.acceptance ?? null,
      }));
      return { items, nextCursor: nextCursorOf(items, query.limit), freshness: await this.freshness(indexedPosition) };
    });
  }

  async searchAudit(input: AuditQueryInput): Promise<SearchPage<AuditHit>> {
    const query = parseAuditQuery(input);
    return guarded('searchAudit', async () => {
      const filter: object[] = [];
      if (query.actor !== undefined) filter.push({ term: { actor: query.actor } });
      if (query.eventType !== undefined) filter.push({ term: { eventType: query.eventType } });
      if (query.action !== undefined) filter.push({ term: { action: query.action } });
      filter.push(...commonFilters(query));
      const indexedPosition = (await this.readCheckpoint()).position;
      const response = await this.client.search<AuditDocument>({
        index: this.readTargets().audit,
        query: { bool: { filter } } as never,
        sort: [{ globalPosition: 'desc' }, { eventId: 'asc' }],
        search_after: searchAfterOf(query.after),
        size: query.limit,
        track_total_hits: false,
        _source: { excludes: ['searchText'] },
      });
      const items = (response.hits.hits as SourceHit<AuditHit>[]).map((h) => ({
        ...h._source!,
        correlationId: h._source!.correlationId ?? null,
      }));
      const keyed = items.map((h) => ({ globalPosition: h.globalPosition, id: h.eventId }));
      return { items, nextCursor: nextCursorOf(keyed, query.limit), freshness: await this.freshness(indexedPosition) };
    });
  }

  private readTargets(): GenerationIndices {
    if (this.options.generation) return indicesOf(this.prefix, this.options.generation);
    return {
      detections: aliasOf(this.prefix, 'detections'),
      audit: aliasOf(this.prefix, 'audit'),
      state: aliasOf(this.prefix, 'state'),
    };
  }

  /** Real-time get: sees the latest write without waiting for a refresh. */
  private async readCheckpoint(): Promise<StoredCheckpoint> {
    const response = await this.client.get<StoredCheckpoint>({ index: this.readTargets().state, id: CHECKPOINT_ID });
    if (!response._source) throw new SearchUnavailableError(`elasticsearch: no checkpoint in ${response._index}`);
    return { position: response._source.position, generation: response._source.generation };
  }

  private async writeCheckpoint(target: GenerationIndices, checkpoint: StoredCheckpoint): Promise<void> {
    try {
      await this.client.index({
        index: target.state,
        id: CHECKPOINT_ID,
        document: { kind: 'checkpoint', ...checkpoint },
        version: checkpoint.position,
        version_type: 'external_gte',
      });
    } catch (error) {
      // Another writer already stored a later checkpoint: it covers ours.
      if (error instanceof errors.ResponseError && error.meta.statusCode === 409) return;
      throw error;
    }
  }

  private async bulk(operations: readonly object[]): Promise<void> {
    // Each operation is an action line plus a source line: keep pairs together.
    const step = this.maxBulkOperations * 2;
    for (let start = 0; start < operations.length; start += step) {
      const response = await this.client.bulk({ operations: operations.slice(start, start + step) as never });
      if (!response.errors) continue;
      const failures = response.items.flatMap((item) =>
        Object.values(item).flatMap((result) =>
          result?.error
            ? [
                {
                  id: String(result._id),
                  status: result.status,
                  type: String(result.error.type),
                  reason: String(result.error.reason ?? ''),
                },
              ]
            : [],
        ),
      );
      throw new SearchBulkError(failures);
    }
  }

  private async mgetSources<T>(index: string, ids: readonly string[]): Promise<T[]> {
    if (ids.length === 0) return [];
    const response = await this.client.mget<T>({ index, ids: [...ids] });
    return response.docs.flatMap((doc) => ('found' in doc && doc.found && doc._source ? [doc._source] : []));
  }

  private async loadFiles(target: GenerationIndices, ids: readonly string[]): Promise<FileFacts[]> {
    const found = await this.mgetSources<FileFacts>(
      target.state,
      ids.map((id) => `file:${id}`),
    );
    return found.map(fileFactsOf);
  }

  private async freshness(indexedPosition: number): Promise<Freshness> {
    const headPosition = await this.options.headPosition();
    const lag = Math.max(0, headPosition - indexedPosition);
    return { indexedPosition, headPosition, lag, stale: lag > 0 };
  }
}

function commonFilters(query: { from?: Date; to?: Date; words: readonly string[] }): object[] {
  const filters: object[] = [];
  if (query.from || query.to) {
    filters.push({ range: { recordedAt: { gte: query.from?.toISOString(), lt: query.to?.toISOString() } } });
  }
  if (query.words.length > 0) {
    filters.push({ match: { searchText: { query: query.words.join(' '), operator: 'and' } } });
  }
  return filters;
}

const searchAfterOf = (after: SearchCursor | undefined): [number, string] | undefined =>
  after ? [after.position, after.id] : undefined;
