import type { NextFunction, Request, Response } from 'express';
import {
  type Counter,
  type Histogram,
  Counter as PromCounter,
  Histogram as PromHistogram,
  type Registry,
} from 'prom-client';
import type { ApiLogger } from '../ports/logger.js';
import { contextOf } from './context.js';

/** The matched route pattern (`/v1/files/:id`), never the raw path, so labels stay bounded. */
const routeOf = (req: Request): string =>
  req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : req.res?.statusCode === 404 ? 'unmatched' : 'other';

function metric<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

/**
 * One structured line per request, written when the response finishes. Headers are never logged
 * (Authorization, API keys and tokens cannot leak); the query string is dropped for the same reason.
 */
export function requestLogging(logger: ApiLogger, registry: Registry) {
  const requests = metric<Counter<'method' | 'route' | 'status'>>(
    registry,
    'chitti_http_requests_total',
    () =>
      new PromCounter({
        name: 'chitti_http_requests_total',
        help: 'HTTP requests answered, by method, route and status',
        labelNames: ['method', 'route', 'status'],
        registers: [registry],
      }),
  );
  const duration = metric<Histogram<'method' | 'route' | 'status'>>(
    registry,
    'chitti_http_request_duration_seconds',
    () =>
      new PromHistogram({
        name: 'chitti_http_request_duration_seconds',
        help: 'HTTP request duration until the response finished',
        labelNames: ['method', 'route', 'status'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [registry],
      }),
  );
  return (req: Request, res: Response, next: NextFunction): void => {
    res.on('finish', () => {
      const context = contextOf(res);
      const seconds = Number(process.hrtime.bigint() - context.startedAt) / 1e9;
      const route = routeOf(req);
      const labels = { method: req.method, route, status: String(res.statusCode) };
      requests.inc(labels);
      duration.observe(labels, seconds);
      const fields = {
        correlationId: context.correlationId,
        traceId: context.traceId,
        req: { method: req.method, path: req.path, route, remoteAddress: req.ip },
        res: { statusCode: res.statusCode },
        principal: context.principal?.userId,
        responseTimeMs: Math.round(seconds * 1000 * 10) / 10,
      };
      if (res.statusCode >= 500) logger.error(fields, 'request failed');
      else if (res.statusCode >= 400) logger.warn(fields, 'request rejected');
      else logger.info(fields, 'request completed');
    });
    next();
  };
}
