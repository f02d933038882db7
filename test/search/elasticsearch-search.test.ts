import { randomBytes } from 'node:crypto';
import { createElasticsearchClient } from '../../infra/elasticsearch/client.js';
import { ElasticsearchSearch } from '../../infra/elasticsearch/elasticsearch-search.js';
import { searchConformance } from './search.conformance.js';
import { deleteIndicesWithPrefix, TEST_ELASTICSEARCH_URL } from './support/elasticsearch.js';

const client = createElasticsearchClient(TEST_ELASTICSEARCH_URL);

searchConformance('Elasticsearch', {
  async create(log) {
    const prefix = `chitti-t-${randomBytes(4).toString('hex')}`;
    return new ElasticsearchSearch(client, { prefix, headPosition: () => log.headPosition() });
  },
  async dispose(adapter) {
    await deleteIndicesWithPrefix(client, (adapter as ElasticsearchSearch).prefix);
  },
});
