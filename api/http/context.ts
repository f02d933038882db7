import { randomFillSync, randomUUID } from 'node:crypto';
import { context as otelContext, type SpanContext, TraceFlags, trace } from '@opentelemetry/api';
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

/** Random hex ids from a pool filled a few KiB at a time (ids need uniqueness, not secrecy). */
const idPool = Buffer.alloc(4096);
let idOffset = idPool.length;
function randomHex(bytes: number): string {
  if (idOffset + bytes > idPool.length) {
    randomFillSync(idPool);
    idOffset = 0;
  }
  const hex = idPool.toString('hex', idOffset, idOffset + bytes);
  idOffset += bytes;
  return hex;
}

/** A valid incoming `traceparent` (not all-zero ids), as its parts. */
function incomingTrace(req: Request): { header: string; traceId: string } | undefined {
  const header = req.get('traceparent');
  const match = header ? TRACEPARENT.exec(header) : null;
  if (!header || !match || /^0+$/.test(match[1]!) || /^0+$/.test(match[2]!)) return undefined;
  return { header, traceId: match[1]! };
}

const traceparentOf = (span: SpanContext) =>
  `00-${span.traceId}-${span.spanId}-${span.traceFlags.toString(16).padStart(2, '0')}`;

/**
 * Correlation id in/out (`X-Correlation-Id`) and the trace the request belongs to: the active span's
 * (HTTP instrumentation), else, with `startTraces`, a context started here as a non-recording span
 * would be (the caller's trace id or a new one, a new span id, not sampled) and made active for the
 * rest of the request, else the caller's valid `traceparent` as it came.
 */
export function requestContext(options: { startTraces?: boolean } = {}) {
  const startTraces = options.startTraces === true;
  return (req: Request, res: Response, next: NextFunction): void => {
    const incoming = req.get('x-correlation-id');
    const correlationId = incoming && CORRELATION_ID.test(incoming) ? incoming : randomUUID();
    const span = trace.getActiveSpan()?.spanContext();
    let traceparent: string | undefined;
    let traceId: string | undefined;
    let started: SpanContext | undefined;
    if (span && trace.isSpanContextValid(span)) {
      traceId = span.traceId;
      traceparent = traceparentOf(span);
    } else if (startTraces) {
      started = {
        traceId: incomingTrace(req)?.traceId ?? randomHex(16),
        spanId: randomHex(8),
        traceFlags: TraceFlags.NONE,
      };
      traceId = started.traceId;
      traceparent = traceparentOf(started);
    } else {
      const caller = incomingTrace(req);
      traceparent = caller?.header;
      traceId = caller?.traceId;
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
    if (started) otelContext.with(trace.setSpanContext(otelContext.active(), started), next);
    else next();
  };
}
