import { trace } from '@opentelemetry/api';
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
 * One structured line per request, written when the response finishes: at debug when it went well
 * (a line per read is a synchronous write per read; LOG_LEVEL=debug brings them back), at warn for
 * 4xx and error for 5xx. Headers are never logged (Authorization, API keys and tokens cannot leak);
 * the query string is dropped for the same reason. The HTTP server span takes the matched route as
 * its name (there are no per-layer express spans to carry it).
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
  // Label children made once per (method, route, status): no label hashing per request. Bounded:
  // routes are patterns, methods and statuses few.
  const series = new Map<string, { count: { inc(): void }; seconds: { observe(value: number): void } }>();
  const seriesOf = (method: string, route: string, status: string) => {
    const key = `${method} ${route} ${status}`;
    let found = series.get(key);
    if (!found) {
      const labels = { method, route, status };
      found = { count: requests.labels(labels), seconds: duration.labels(labels) };
      series.set(key, found);
    }
    return found;
  };
  return (req: Request, res: Response, next: NextFunction): void => {
    const span = trace.getActiveSpan();
    res.on('finish', () => {
      const context = contextOf(res);
      const seconds = Number(process.hrtime.bigint() - context.startedAt) / 1e9;
      const route = routeOf(req);
      const measured = seriesOf(req.method, route, String(res.statusCode));
      measured.count.inc();
      measured.seconds.observe(seconds);
      if (span?.isRecording() && req.route) span.updateName(`${req.method} ${route}`).setAttribute('http.route', route);
      const level = res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'debug';
      if (level === 'debug' && !logger.isLevelEnabled('debug')) return;
      const fields = {
        correlationId: context.correlationId,
        traceId: context.traceId,
        req: { method: req.method, path: req.path, route, remoteAddress: req.ip },
        res: { statusCode: res.statusCode },
        principal: context.principal?.userId,
        responseTimeMs: Math.round(seconds * 1000 * 10) / 10,
      };
      if (level === 'error') logger.error(fields, 'request failed');
      else if (level === 'warn') logger.warn(fields, 'request rejected');
      else logger.debug(fields, 'request completed');
    });
    next();
  };
}
