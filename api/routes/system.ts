import type { Request, Response, Router } from 'express';
import type { Registry } from 'prom-client';
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

/** Liveness, readiness (each dependency checked) and Prometheus metrics: unauthenticated, not rate limited. */
export function mountSystemRoutes(
  router: Router,
  deps: { healthChecks: readonly HealthCheck[]; metrics: Registry },
): void {
  router.get('/health/live', (_req: Request, res: Response) => {
    res.json({ status: 'ok' });
  });
  router.get('/health/ready', async (_req: Request, res: Response) => {
    const checks = await Promise.all(deps.healthChecks.map(runCheck));
    const ready = checks.every((c) => c.ok);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', checks });
  });
  router.get('/metrics', async (_req: Request, res: Response) => {
    res.type(deps.metrics.contentType).send(await deps.metrics.metrics());
  });
}
