import type { Client } from '@elastic/elasticsearch';

/** The real Elasticsearch the suites run against (`npm run infra:up` starts one on loopback). */
export const TEST_ELASTICSEARCH_URL = process.env.TEST_ELASTICSEARCH_URL ?? 'http://127.0.0.1:9200';

/** Drops every index of a test prefix (aliases go with their indexes). */
export async function deleteIndicesWithPrefix(client: Client, prefix: string): Promise<void> {
  await client.indices.delete({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true });
}
