import type { Server } from 'node:http';
import type { Registry } from 'prom-client';
import { CoalescingAccessLog } from '../../api/access/coalescing-access-log.js';
import { aggregateHistory } from '../../api/adapters/aggregate-history.js';
import { bindCommands } from '../../api/adapters/bind-commands.js';
import { onnxModelInspector } from '../../api/adapters/model-inspector.js';
import { createApp } from '../../api/app.js';
import type { ApiDependencies } from '../../api/dependencies.js';
import type { HealthCheck } from '../../api/ports/health.js';
import { LogIdentityDirectory } from '../../api/stores/log-identity-directory.js';
import { PgIdempotencyStore } from '../../api/stores/pg-idempotency-store.js';
import { PgRefreshTokenStore } from '../../api/stores/pg-refresh-token-store.js';
import type { BlobStore } from '../../inference/ports/blob-store.js';
import { verifyAudit } from '../../infra/postgres/audit-verify.js';
import { sealCovering } from '../../infra/postgres/seal-lookup.js';
import { ReadModelQueries } from '../../projections/queries.js';
import type { Runtime } from '../runtime.js';
import { openRateLimiter } from './rate-limiter.js';
import type { Search } from './search.js';

export interface ApiWiring {
  readonly blobs: BlobStore;
  readonly search: Search;
  readonly registry: Registry;
  readonly healthChecks: readonly HealthCheck[];
}

export async function startApi(runtime: Runtime, wiring: ApiWiring): Promise<Server> {
  const { config, store, pool, logger } = runtime;
  const identity = new LogIdentityDirectory(store);
  identity.start();
  runtime.onClose(() => identity.stop());
  const commands = bindCommands({ store });
  const accessLog = new CoalescingAccessLog(commands.recordAccess, logger);
  // Closers run in reverse: this one after the server has stopped, before the store closes.
  runtime.onClose(() => accessLog.flush());
  const deps: ApiDependencies = {
    commands,
    accessLog,
    queries: new ReadModelQueries(pool, store),
    history: aggregateHistory(store),
    search: wiring.search,
    auditVerifier: {
      verify: () => verifyAudit(pool, { sealKey: config.SEAL_KEY }),
      sealCovering: (position) => sealCovering(pool, position),
    },
    log: store,
    blobs: wiring.blobs,
    modelInspector: onnxModelInspector(),
    identity,
    refreshTokens: new PgRefreshTokenStore(pool),
    idempotency: new PgIdempotencyStore(pool),
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
  };
  const app = createApp(deps, {
    jwtKeys: config.JWT_KEYS,
    maxUploadBytes: config.MAX_UPLOAD_BYTES,
    maxImagePixels: config.MAX_IMAGE_PIXELS,
    rateLimit: { authenticated: config.RATE_LIMIT_PER_MINUTE, anonymous: 60, windowMs: 60_000 },
    defaultModelName: config.DEFAULT_MODEL,
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(config.PORT, config.HOST, () => resolve(listening));
    listening.once('error', reject);
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
