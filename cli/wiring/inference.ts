import { Counter, Gauge, type Registry } from 'prom-client';
import { EmbeddedInspectionSource } from '../../inference/embedded-source.js';
import type { BlobStore } from '../../inference/ports/blob-store.js';
import type { PredictionCache } from '../../inference/ports/prediction-cache.js';
import type { InspectionRequestSource } from '../../inference/ports/request-source.js';
import type { CachedPrediction } from '../../inference/processor.js';
import { InferenceService } from '../../inference/service.js';
import { PostgresDedupeStore } from '../../infra/kafka/dedupe.js';
import { KafkaInspectionSource } from '../../infra/kafka/inspection-source.js';
import { LruPredictionCache } from '../../infra/memory-cache/lru-prediction-cache.js';
import { PostgresCheckpoint } from '../../infra/postgres/checkpoint.js';
import { RedisPredictionCache } from '../../infra/redis/prediction-cache.js';
import type { Runtime } from '../runtime.js';
import { redisOf } from './redis.js';
import { kafkaOf } from './relay.js';

function predictionCache(runtime: Runtime): PredictionCache<CachedPrediction> {
  const url = runtime.config.REDIS_URL;
  if (!url) return new LruPredictionCache<CachedPrediction>();
  return new RedisPredictionCache<CachedPrediction>(redisOf(runtime, url), {
    onError: (error) => runtime.logger.warn({ err: error }, 'prediction cache unavailable; computing instead'),
  });
}

/** Kafka consumer group when KAFKA_BROKERS is set, else an in-process subscription to the log. */
function requestSource(runtime: Runtime, registry: Registry | undefined): InspectionRequestSource {
  const onError = (error: unknown) => runtime.logger.warn({ err: error }, 'inspection source error; retrying');
  if (runtime.config.KAFKA_BROKERS) {
    const deadLetters = new Counter({
      name: 'chitti_dead_letters_total',
      help: 'Messages this consumer sent to the dead-letter topic, by kind (poison, exhausted, rejected).',
      labelNames: ['kind'],
      registers: registry ? [registry] : [],
    });
    const lag = new Gauge({
      name: 'chitti_kafka_consumer_lag_messages',
      help: 'Messages of a partition this consumer group has still to handle, as of the last one it handled',
      labelNames: ['group', 'topic', 'partition'],
      registers: registry ? [registry] : [],
    });
    const topicPrefix = runtime.config.KAFKA_TOPIC_PREFIX;
    const groupId = `${topicPrefix}-inference`;
    return new KafkaInspectionSource({
      kafka: kafkaOf(runtime, 'chitti-inference'),
      topicPrefix,
      groupId,
      dedupe: new PostgresDedupeStore(runtime.pool),
      concurrency: runtime.config.INFERENCE_MAX_BATCH * 2,
      onError,
      onDeadLetter: ({ kind }) => deadLetters.inc({ kind }),
      onLag: ({ topic, partition, lag: messages }) =>
        lag.set({ group: groupId, topic, partition: String(partition) }, messages),
    });
  }
  return new EmbeddedInspectionSource(runtime.store, {
    onError,
    checkpoint: new PostgresCheckpoint(runtime.pool, 'inference-embedded'),
  });
}

/** Sessions, model store, detector and processor, fed by the configured source. */
export function createInference(runtime: Runtime, blobs: BlobStore, registry: Registry): InferenceService {
  const { config } = runtime;
  return new InferenceService(
    { store: runtime.store, blobs, cache: predictionCache(runtime), registry, logger: runtime.logger },
    {
      sessions: { intraOpNumThreads: config.INFERENCE_THREADS },
      images: {
        workers: config.IMAGE_WORKERS,
        memoryBudgetBytes: config.IMAGE_MEMORY_BUDGET_MB * 1024 * 1024,
        maxPixels: config.MAX_IMAGE_PIXELS,
      },
      detector: { maxBatch: config.INFERENCE_MAX_BATCH, maxWaitMs: config.INFERENCE_MAX_WAIT_MS },
    },
  );
}

export async function startInference(runtime: Runtime, service: InferenceService, registry?: Registry): Promise<void> {
  service.images.warmUp();
  await service.start(requestSource(runtime, registry));
  runtime.onClose(() => service.stop());
  runtime.logger.info({ source: runtime.config.KAFKA_BROKERS ? 'kafka' : 'embedded' }, 'inference processor running');
}
