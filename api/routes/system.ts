import type { Request, RequestHandler, Response, Router } from 'express';
import type { HealthCheck } from '../ports/health.js';

const CHECK_TIMEOUT_MS = 2_000;

async function runCheck(check: HealthCheck): Promise<{ name: string; ok: boolean; error?: string; ms: number }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check.check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { name: check.name, ok: true, ms: Math.round(performance.now() - started) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { name: check.name, ok: false, error: message.slice(0, 200), ms: Math.round(performance.now() - started) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Liveness (unauthenticated, unlimited: orchestrators probe it) and readiness. Readiness runs every
 * dependency check, so it is limited per address by `guard` and answered from one shared result for
 * `cacheMs`: concurrent and repeated probes cost the dependencies one round of checks at most per
 * period. Prometheus metrics are not here: they are served on the metrics port (`cli/wiring`).
 */
export function mountSystemRoutes(
  router: Router,
  deps: { healthChecks: readonly HealthCheck[] },
  readiness: { guard: RequestHandler; cacheMs: number },
): void {
  let latest: { at: number; result: Promise<Awaited<ReturnType<typeof runCheck>>[]> } | undefined;
  const checkAll = () => {
    const now = performance.now();
    if (!latest || now - latest.at >= readiness.cacheMs) {
      latest = { at: now, result: Promise.all(deps.healthChecks.map(runCheck)) };
    }
    return latest.result;
  };
  router.get('/health/live', (_req: Request, res: Response) => {
    res.json({ status: 'ok' });
  });
  router.get('/health/ready', readiness.guard, async (_req: Request, res: Response) => {
    const checks = await checkAll();
    const ready = checks.every((c) => c.ok);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', checks });
  });
}
