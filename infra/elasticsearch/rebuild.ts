import type { Client } from '@elastic/elasticsearch';
import type { GlobalLog } from '../../projections/ports.js';
import { ElasticsearchSearch } from './elasticsearch-search.js';
import { createGeneration, swapAliases } from './indices.js';

export interface RebuildResult {
  readonly generation: string;
  /** The new generation's checkpoint when the aliases moved. */
  readonly position: number;
  readonly events: number;
}

/**
 * Rebuild without downtime: replay the whole log into a fresh generation while queries keep using
 * the old one, then move all aliases in one atomic `_aliases` request. A projector still writing
 * the old generation finds the new (lower or equal) checkpoint on its next batch and resumes from
 * there (SearchCheckpointBehindError), so nothing appended meanwhile is lost. Old generations are
 * kept until `pruneGenerations`, so queries already running against them finish.
 */
export async function rebuildElasticsearchSearch(options: {
  readonly client: Client;
  readonly log: GlobalLog;
  readonly prefix?: string;
  readonly batchSize?: number;
}): Promise<RebuildResult> {
  const prefix = options.prefix ?? 'chitti';
  const generation = await createGeneration(options.client, prefix);
  const target = new ElasticsearchSearch(options.client, {
    prefix,
    generation,
    headPosition: () => options.log.headPosition(),
  });
  let position = 0;
  let events = 0;
  for (;;) {
    const batch = await options.log.readAll({ after: position, maxCount: options.batchSize ?? 1000 });
    if (batch.length === 0) break;
    const result = await target.indexBatch(batch, { after: position });
    position = result.position;
    events += result.applied;
  }
  await target.refresh();
  await swapAliases(options.client, prefix, generation);
  return { generation, position, events };
}
