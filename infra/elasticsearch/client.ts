import { Client } from '@elastic/elasticsearch';

/**
 * A v8 client (an 8.x server rejects the v9 client's compatibility header). Few retries and a short
 * timeout: the search projector has its own backoff, and a query should fail fast when the cluster
 * is away rather than hang.
 */
export function createElasticsearchClient(url: string, options: { requestTimeoutMs?: number } = {}): Client {
  return new Client({
    node: url,
    maxRetries: 1,
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    compression: false,
  });
}
