import { Counter, type Registry } from 'prom-client';
import type { ApiSearch } from '../ports/queries.js';

type DetectionPage = Awaited<ReturnType<ApiSearch['searchDetections']>>;

export interface SearchCacheOptions {
  /**
   * Moves whenever something may have been appended: the log's wake-up epoch (every commit's
   * notification, and every reconnect), undefined while notifications may be missed (the LISTEN
   * connection is down): then nothing is answered from memory.
   */
  readonly changeEpoch: () => number | undefined;
  readonly maxEntries?: number;
  readonly registry?: Registry;
}

interface Entry {
  readonly epoch: number;
  readonly local: number;
  readonly page: DetectionPage;
}

/**
 * Detection search pages kept while nothing has been appended since: a page is kept only when the
 * index had caught up with the head (`freshness.lag` 0) and no append was announced while it was
 * read, and answered only while the log's change epoch and this process's own write count
 * (`noteWrite`, called before a command's response leaves) are still those it was read at. The
 * answer is then the one the index would give: same hits, same checkpoint and head.
 */
export class SearchCache implements ApiSearch {
  private readonly entries = new Map<string, Entry>();
  private local = 0;
  private readonly maxEntries: number;
  private readonly lookups: { hit(): void; miss(): void };

  constructor(
    private readonly search: ApiSearch,
    private readonly options: SearchCacheOptions,
  ) {
    this.maxEntries = options.maxEntries ?? 1_000;
    const name = 'chitti_read_cache_lookups_total';
    const counter =
      (options.registry?.getSingleMetric(name) as Counter<'cache' | 'result'> | undefined) ??
      new Counter({
        name,
        help: 'Read-model cache lookups of the API, by cache and result (hit, miss, bypass: the request named a newer version)',
        labelNames: ['cache', 'result'],
        registers: options.registry ? [options.registry] : [],
      });
    const hit = counter.labels({ cache: 'detection-search', result: 'hit' });
    const miss = counter.labels({ cache: 'detection-search', result: 'miss' });
    this.lookups = { hit: () => hit.inc(), miss: () => miss.inc() };
  }

  /** This process appended something: every kept page goes. */
  noteWrite(): void {
    this.local++;
    this.entries.clear();
  }

  async searchDetections(query: Parameters<ApiSearch['searchDetections']>[0]): Promise<DetectionPage> {
    const key = JSON.stringify(query);
    const epoch = this.options.changeEpoch();
    const entry = this.entries.get(key);
    if (entry && epoch !== undefined && entry.epoch === epoch && entry.local === this.local) {
      this.lookups.hit();
      return entry.page;
    }
    this.lookups.miss();
    const local = this.local;
    const page = await this.search.searchDetections(query);
    const caughtUp = (page.freshness as { lag?: number }).lag === 0;
    if (caughtUp && epoch !== undefined && this.options.changeEpoch() === epoch && this.local === local) {
      this.entries.delete(key);
      this.entries.set(key, { epoch, local, page });
      if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    }
    return page;
  }

  searchAudit(query: Parameters<ApiSearch['searchAudit']>[0]) {
    return this.search.searchAudit(query);
  }
}
