import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import type { NextFunction, Request, Response } from 'express';
import type { Role } from '../../schemas/events/index.js';

export interface Principal {
  readonly userId: string;
  readonly roles: readonly Role[];
  /** The access token's jti. */
  readonly tokenId: string;
}

export interface RequestContext {
  readonly correlationId: string;
  /** W3C traceparent of the active span, else the caller's valid `traceparent` header. */
  readonly traceparent: string | undefined;
  readonly traceId: string | undefined;
  readonly startedAt: bigint;
  principal: Principal | undefined;
}

const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TRACEPARENT = /^00-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/;

export const contextOf = (res: Response): RequestContext => res.locals.chitti as RequestContext;

/** Correlation id in/out (`X-Correlation-Id`) and the trace the request belongs to. */
export function requestContext(req: Request, res: Response, next: NextFunction): void {
  const incoming = req.get('x-correlation-id');
  const correlationId = incoming && CORRELATION_ID.test(incoming) ? incoming : randomUUID();
  const span = trace.getActiveSpan()?.spanContext();
  let traceparent: string | undefined;
  let traceId: string | undefined;
  if (span && trace.isSpanContextValid(span)) {
    traceId = span.traceId;
    traceparent = `00-${span.traceId}-${span.spanId}-${span.traceFlags.toString(16).padStart(2, '0')}`;
  } else {
    const header = req.get('traceparent');
    const match = header ? TRACEPARENT.exec(header) : null;
    if (match && !/^0+$/.test(match[1]!) && !/^0+$/.test(match[2]!)) {
      traceparent = header;
      traceId = match[1];
    }
  }
  const context: RequestContext = {
    correlationId,
    traceparent,
    traceId,
    startedAt: process.hrtime.bigint(),
    principal: undefined,
  };
  res.locals.chitti = context;
  res.setHeader('X-Correlation-Id', correlationId);
  if (traceId) res.setHeader('X-Trace-Id', traceId);
  next();
}
