import type pg from 'pg';
import type { Logger } from '../../commands/ports/logger.js';
import type { Config } from '../../infra/config.js';
import { pruneExpired } from '../../infra/postgres/retention.js';

/** What retention needs of the runtime (named here, so the runtime and its wiring import in one direction). */
export interface RetentionHost {
  readonly pool: pg.Pool;
  readonly config: Pick<Config, 'DEDUPE_RETENTION_DAYS' | 'IDEMPOTENCY_RETENTION_HOURS' | 'RETENTION_INTERVAL_SECONDS'>;
  readonly logger: Logger;
  onClose(fn: () => Promise<void> | void): void;
}

/**
 * Prunes expired dedupe marks and idempotency records now and then every
 * RETENTION_INTERVAL_SECONDS, for as long as the process runs (every service does it: deleting is
 * idempotent and skips rows another process is deleting).
 */
export function startRetention(runtime: RetentionHost): void {
  const { config, logger } = runtime;
  const window = { dedupeDays: config.DEDUPE_RETENTION_DAYS, idempotencyHours: config.IDEMPOTENCY_RETENTION_HOURS };
  let running: Promise<unknown> = Promise.resolve();
  const prune = () => {
    running = pruneExpired(runtime.pool, window).then(
      (pruned) => {
        if (Object.values(pruned).some((n) => n > 0))
          logger.info({ pruned, window }, 'expired dedupe and idempotency rows deleted');
      },
      (error) => logger.warn({ err: error }, 'retention pruning failed; will retry'),
    );
  };
  prune();
  const timer = setInterval(prune, config.RETENTION_INTERVAL_SECONDS * 1000);
  timer.unref();
  runtime.onClose(async () => {
    clearInterval(timer);
    await running;
  });
}
