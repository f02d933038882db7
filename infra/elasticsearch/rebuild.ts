import type { Client } from '@elastic/elasticsearch';
import type { GlobalLog } from '../../commands/ports/event-store.js';
import { ElasticsearchSearch, type RebuildResult } from './elasticsearch-search.js';

export type { RebuildResult } from './elasticsearch-search.js';

/**
 * Rebuild without downtime: replay the whole log into a fresh generation while queries keep using
 * the old one, then move all aliases in one atomic `_aliases` request. A projector still writing
 * the old generation finds the new (lower or equal) checkpoint on its next batch and resumes from
 * there (SearchCheckpointBehindError), so nothing appended meanwhile is lost. Old generations are
 * kept until `pruneGenerations`, so queries already running against them finish.
 */
export function rebuildElasticsearchSearch(options: {
  readonly client: Client;
  readonly log: GlobalLog;
  readonly prefix?: string;
  readonly batchSize?: number;
}): Promise<RebuildResult> {
  const search = new ElasticsearchSearch(options.client, {
    prefix: options.prefix,
    headPosition: () => options.log.headPosition(),
  });
  return search.rebuild(options.log, { batchSize: options.batchSize });
}
