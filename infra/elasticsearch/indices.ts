/**
 * Index layout of the search projection: one generation = three concrete indexes (detections,
 * audit, state) named `<prefix>-<kind>-v<MAPPING_VERSION>-<stamp>`, read and written through the
 * aliases `<prefix>-<kind>`. Mappings use only what the stripped integ-test distribution has:
 * keyword, long, integer, float, date and text with the standard analyzer.
 */
import { randomBytes } from 'node:crypto';
import { type Client, errors } from '@elastic/elasticsearch';

/**
 * Bump when a mapping or what documents hold changes: a rebuild then writes into indexes of the new
 * version, and prepare() replaces a live generation of an older one. 2: detections carry reviews.
 * 3: detections carry their size in mm. 4: detections carry their inspection's acceptance verdict.
 */
export const MAPPING_VERSION = 4;

export const INDEX_KINDS = ['detections', 'audit', 'state'] as const;
export type IndexKind = (typeof INDEX_KINDS)[number];

export type GenerationIndices = Readonly<Record<IndexKind, string>>;

const SETTINGS = { number_of_shards: 1, number_of_replicas: 0 } as const;

const MAPPINGS: Record<IndexKind, object> = {
  detections: {
    dynamic: 'strict',
    properties: {
      id: { type: 'keyword' },
      eventId: { type: 'keyword' },
      globalPosition: { type: 'long' },
      inspectionId: { type: 'keyword' },
      fileId: { type: 'keyword' },
      fileName: { type: 'keyword' },
      tags: { type: 'keyword' },
      role: { type: 'keyword' },
      modelName: { type: 'keyword' },
      modelVersion: { type: 'keyword' },
      detectionId: { type: 'keyword' },
      className: { type: 'keyword' },
      classId: { type: 'integer' },
      score: { type: 'float' },
      box: { type: 'object', enabled: false },
      size: { properties: { lengthMm: { type: 'float' }, widthMm: { type: 'float' }, areaMm2: { type: 'float' } } },
      recordedAt: { type: 'date' },
      review: {
        properties: {
          verdict: { type: 'keyword' },
          newClassName: { type: 'keyword' },
          reviewer: { type: 'keyword' },
          reviewedAt: { type: 'date' },
        },
      },
      acceptance: { type: 'keyword' },
      searchText: { type: 'text', analyzer: 'standard' },
    },
  },
  audit: {
    dynamic: 'strict',
    properties: {
      eventId: { type: 'keyword' },
      globalPosition: { type: 'long' },
      streamId: { type: 'keyword' },
      streamVersion: { type: 'integer' },
      eventType: { type: 'keyword' },
      action: { type: 'keyword' },
      actor: { type: 'keyword' },
      correlationId: { type: 'keyword' },
      recordedAt: { type: 'date' },
      summary: { type: 'text', index: false },
      searchText: { type: 'text', analyzer: 'standard' },
    },
  },
  // Checkpoint and the projection's lookup facts: read by id only, so nothing is indexed.
  state: { dynamic: false, properties: { kind: { type: 'keyword' } } },
};

export const aliasOf = (prefix: string, kind: IndexKind): string => `${prefix}-${kind}`;

export function indicesOf(prefix: string, generation: string): GenerationIndices {
  return {
    detections: `${prefix}-detections-${generation}`,
    audit: `${prefix}-audit-${generation}`,
    state: `${prefix}-state-${generation}`,
  };
}

/** `v<mapping>-<utc stamp>-<random>`: sorts by creation time, unique across processes. */
export function newGenerationId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:T.Z]/g, '')
    .slice(0, 17);
  return `v${MAPPING_VERSION}-${stamp}-${randomBytes(3).toString('hex')}`;
}

/** The mapping version a generation's indexes were created with (0 when the id does not say). */
export function mappingVersionOf(generation: string): number {
  const match = /^v(\d+)-/.exec(generation);
  return match ? Number(match[1]) : 0;
}

export const CHECKPOINT_ID = 'checkpoint';

/** Creates a generation's indexes and its checkpoint at 0; no alias points at it yet. */
export async function createGeneration(
  client: Client,
  prefix: string,
  generation = newGenerationId(),
): Promise<string> {
  const indices = indicesOf(prefix, generation);
  for (const kind of INDEX_KINDS) {
    try {
      await client.indices.create(
        { index: indices[kind], settings: SETTINGS, mappings: MAPPINGS[kind] as never, wait_for_active_shards: 1 },
        // Creating an index waits on the master: slow on a busy node, and too rare to need a short timeout.
        { requestTimeout: 60_000 },
      );
    } catch (error) {
      // A retry of a create whose first attempt timed out but succeeded: the name is ours alone.
      if (!(error instanceof errors.ResponseError && error.body?.error?.type === 'resource_already_exists_exception')) {
        throw error;
      }
    }
  }
  await client.index({
    index: indices.state,
    id: CHECKPOINT_ID,
    document: { kind: 'checkpoint', position: 0, generation },
    version: 0,
    version_type: 'external_gte',
    refresh: false,
  });
  return generation;
}

/** The generation the aliases point at, or null before the first one. */
export async function currentGeneration(client: Client, prefix: string): Promise<string | null> {
  const alias = aliasOf(prefix, 'state');
  const exists = await client.indices.existsAlias({ name: alias });
  if (!exists) return null;
  const response = await client.indices.getAlias({ name: alias });
  const index = Object.keys(response)[0];
  if (!index) return null;
  return index.slice(`${prefix}-state-`.length);
}

/**
 * Points all three aliases at `generation` in one `_aliases` request: Elasticsearch applies the
 * actions atomically, so every query sees either the old or the new generation, never neither.
 */
export async function swapAliases(client: Client, prefix: string, generation: string): Promise<void> {
  const target = indicesOf(prefix, generation);
  const actions: object[] = [];
  for (const kind of INDEX_KINDS) {
    const alias = aliasOf(prefix, kind);
    if (await client.indices.existsAlias({ name: alias })) {
      const current = Object.keys(await client.indices.getAlias({ name: alias }));
      for (const index of current) if (index !== target[kind]) actions.push({ remove: { index, alias } });
    }
    actions.push({ add: { index: target[kind], alias } });
  }
  await client.indices.updateAliases({ actions: actions as never });
}

/** Deletes generations no alias points at, keeping the newest `keep` of them for a quick roll-back. */
export async function pruneGenerations(client: Client, prefix: string, keep = 1): Promise<string[]> {
  const live = await currentGeneration(client, prefix);
  const states = Object.keys(await client.indices.get({ index: `${prefix}-state-v*`, expand_wildcards: 'open' }));
  const generations = states
    .map((name) => name.slice(`${prefix}-state-`.length))
    .filter((g) => g !== live)
    .sort()
    .reverse();
  const doomed = generations.slice(keep);
  for (const generation of doomed) {
    await client.indices.delete({ index: Object.values(indicesOf(prefix, generation)), ignore_unavailable: true });
  }
  return doomed;
}
