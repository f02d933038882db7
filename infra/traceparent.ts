import { context, propagation, trace } from '@opentelemetry/api';

/** The W3C traceparent of the active span, to store in event metadata and Kafka headers. */
export function currentTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  if (carrier.traceparent) return carrier.traceparent;
  const span = trace.getActiveSpan();
  if (!span) return undefined;
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, '0')}`;
}

/** Runs fn inside the trace context a stored traceparent names (event → processor → next event). */
export function withTraceparent<T>(traceparent: string | undefined, fn: () => T): T {
  if (!traceparent) return fn();
  const parent = propagation.extract(context.active(), { traceparent });
  return context.with(parent, fn);
}
