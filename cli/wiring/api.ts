import type { Server } from 'node:http';
import type { Registry } from 'prom-client';
import { CoalescingAccessLog } from '../../api/access/coalescing-access-log.js';
import { aggregateHistory } from '../../api/adapters/aggregate-history.js';
import { bindCommands } from '../../api/adapters/bind-commands.js';
import { workerImageValidator } from '../../api/adapters/image-validator.js';
import { onnxModelInspector } from '../../api/adapters/model-inspector.js';
import { createApp } from '../../api/app.js';
import type { ApiDependencies, ApiOptions } from '../../api/dependencies.js';
import { answerMalformedRequests } from '../../api/http/client-error.js';
import type { HealthCheck } from '../../api/ports/health.js';
import { LogIdentityDirectory } from '../../api/stores/log-identity-directory.js';
import { PgIdempotencyStore } from '../../api/stores/pg-idempotency-store.js';
import { PgRefreshTokenStore } from '../../api/stores/pg-refresh-token-store.js';
import { SearchCache } from '../../api/stores/search-cache.js';
import { StreamReadCache } from '../../api/stores/stream-read-cache.js';
import { ImagePool } from '../../inference/image-pool.js';
import type { BlobStore } from '../../inference/ports/blob-store.js';
import { type Config, DependencyError } from '../../infra/config.js';
import { registerLogHealthMetrics } from '../../infra/postgres/log-health-metrics.js';
import { postgresAuditVerifier } from '../../infra/postgres/seal-records.js';
import { requestTraceIds } from '../../infra/telemetry.js';
import { readCheckpoints } from '../../projections/generations.js';
import { ReadModelQueries } from '../../projections/queries.js';
import type { Runtime } from '../runtime.js';
import { startMetricsServer } from './metrics-server.js';
import { openRateLimiter } from './rate-limiter.js';
import { verificationInputs } from './sealing.js';
import type { Search } from './search.js';

export interface ApiWiring {
  readonly blobs: BlobStore;
  readonly search: Search;
  readonly registry: Registry;
  readonly healthChecks: readonly HealthCheck[];
  /** Given when an in-process projector notes into it (`chitti start`); else the API opens its own. */
  readonly inspectionCache?: StreamReadCache;
}

/** The API's options from the configuration: every value a loaded config holds is one the API accepts. */
export function apiOptions(config: Config, jwtKeys: ApiOptions['jwtKeys']): ApiOptions {
  return {
    jwtKeys,
    maxUploadBytes: config.MAX_UPLOAD_BYTES,
    maxImagePixels: config.MAX_IMAGE_PIXELS,
    rateLimit: {
      authenticated: config.RATE_LIMIT_PER_MINUTE,
      anonymous: config.RATE_LIMIT_ANONYMOUS_PER_MINUTE,
      windowMs: 60_000,
    },
    corsOrigins: config.CORS_ORIGINS,
    ...(config.TRUST_PROXY !== undefined ? { trustProxy: config.TRUST_PROXY } : {}),
    defaultModelName: config.DEFAULT_MODEL,
    startTraces: requestTraceIds(),
  };
}

/**
 * The cache of `GET /v1/inspections/{id}` answers (`StreamReadCache`): it notes what this process's
 * commands wrote before their responses leave, what an in-process projector is about to apply (give
 * it `inspectionCache.notingAhead(log)`), and every append in the log from the read model's
 * checkpoint on, so nothing the read model has not applied yet goes unnoted.
 */
export async function openInspectionCache(runtime: Runtime, registry: Registry): Promise<StreamReadCache> {
  const { pool, store, logger } = runtime;
  const cache = new StreamReadCache({ name: 'inspection', streamPrefix: 'inspection-', registry });
  // No checkpoint table yet (a fresh database, before the projector's first start): from the start.
  const checkpoints = await readCheckpoints(pool).catch((error: { code?: string }) => {
    if (error.code === '42P01') return [];
    throw error;
  });
  const checkpoint = checkpoints.find((c) => c.name === 'inspections');
  cache.follow(store, checkpoint?.position ?? 0, (error) =>
    logger.warn({ err: error }, 'inspection read cache: reading the log failed; retrying'),
  );
  runtime.onClose(() => cache.stop());
  return cache;
}

export async function startApi(runtime: Runtime, wiring: ApiWiring): Promise<Server> {
  const { config, store, pool, logger } = runtime;
  const identity = new LogIdentityDirectory(store, (error) =>
    logger.warn({ err: error }, 'identity directory: reading the log failed; retrying'),
  );
  identity.start();
  // The API is the scraped process in every deployment: it reports the relay's and the sealer's progress too.
  registerLogHealthMetrics(wiring.registry, pool);
  runtime.onClose(() => identity.stop());
  const inspectionCache = wiring.inspectionCache ?? (await openInspectionCache(runtime, wiring.registry));
  // Detection search pages kept while nothing was appended (the log's change epoch and this process's writes).
  const search = new SearchCache(wiring.search, { changeEpoch: () => store.changeEpoch(), registry: wiring.registry });
  const commands = bindCommands({ store }, (result) => {
    inspectionCache.note(result.streamId, result.nextExpectedVersion);
    search.noteWrite();
  });
  const accessLog = new CoalescingAccessLog(commands.recordAccess, logger);
  // Closers run in reverse: this one after the server has stopped, before the store closes.
  runtime.onClose(() => accessLog.flush());
  // Upload checks decode whole files: in worker threads, a few at a time, never on the event loop.
  const images = new ImagePool({ workers: config.IMAGE_WORKERS, maxPixels: config.MAX_IMAGE_PIXELS });
  runtime.onClose(() => images.close());
  images.warmUp();
  const deps: ApiDependencies = {
    commands,
    accessLog,
    queries: new ReadModelQueries(pool, store),
    history: aggregateHistory(store),
    search,
    auditVerifier: postgresAuditVerifier(pool, store, () => verificationInputs(runtime)),
    log: store,
    blobs: wiring.blobs,
    modelInspector: onnxModelInspector(),
    imageValidator: workerImageValidator(images),
    identity,
    refreshTokens: new PgRefreshTokenStore(pool),
    idempotency: new PgIdempotencyStore(pool, {
      retentionHours: runtime.config.IDEMPOTENCY_RETENTION_HOURS,
      leaseSeconds: config.IDEMPOTENCY_LEASE_SECONDS,
    }),
    rateLimiter: openRateLimiter(runtime),
    healthChecks: [
      {
        name: 'postgres',
        check: async () => {
          await pool.query('SELECT 1');
        },
      },
      ...wiring.healthChecks,
    ],
    metrics: wiring.registry,
    logger,
    inspectionCache,
  };
  const app = createApp(deps, apiOptions(config, runtime.jwtKeys));
  // /metrics is not on the API's port: Prometheus scrapes METRICS_PORT, which need not face the public.
  await startMetricsServer(runtime, wiring.registry);
  const server = await new Promise<Server>((resolve, reject) => {
    // Express 5 calls this back with the listen error too (a taken port once passed for success).
    const listening = app.listen(config.PORT, config.HOST, (error?: NodeJS.ErrnoException) => {
      if (!error) resolve(listening);
      else if (error.code !== 'EADDRINUSE') reject(error);
      else
        reject(
          new DependencyError(
            `port ${config.PORT} on ${config.HOST} is in use by another process: stop it or set PORT`,
          ),
        );
    });
    answerMalformedRequests(listening);
  });
  runtime.onClose(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Open event streams (SSE) never end by themselves.
        server.closeAllConnections();
      }),
  );
  logger.info({ host: config.HOST, port: config.PORT }, `API listening on http://${config.HOST}:${config.PORT}`);
  return server;
}
