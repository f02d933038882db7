import {
  type Attributes,
  type Context,
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type SpanContext,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';

/** The W3C traceparent of the active span, to store in event metadata and Kafka headers. */
export function currentTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  if (carrier.traceparent) return carrier.traceparent;
  const span = trace.getActiveSpan();
  return span ? traceparentOf(span.spanContext()) : undefined;
}

/** The W3C traceparent that names a span. */
function traceparentOf({ traceId, spanId, traceFlags }: SpanContext): string {
  return `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, '0')}`;
}

/** Runs fn inside the trace context a stored traceparent names (event → processor → next event). */
export function withTraceparent<T>(traceparent: string | undefined, fn: () => T): T {
  if (!traceparent) return fn();
  const parent = propagation.extract(context.active(), { traceparent });
  return context.with(parent, fn);
}

const tracer = trace.getTracer('chitti');
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The span context a stored traceparent names, for a link; undefined when it is not one. */
export function spanContextOf(traceparent: string | undefined): SpanContext | undefined {
  const match = traceparent ? TRACEPARENT.exec(traceparent) : null;
  if (!match) return undefined;
  return { traceId: match[1]!, spanId: match[2]!, traceFlags: Number.parseInt(match[3]!, 16), isRemote: true };
}

async function inSpan<T>(name: string, options: SpanOptions, parent: Context, fn: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, options, parent, async (span) => {
    try {
      return await fn();
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * Handling of one message (Kafka consume): a span that continues the trace its event carries, so
 * a trace runs from the HTTP request through the broker into the consumer's own work.
 */
export function inConsumerSpan<T>(
  name: string,
  traceparent: string | undefined,
  attributes: Attributes,
  fn: () => Promise<T>,
): Promise<T> {
  const remote = spanContextOf(traceparent);
  const parent = remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : ROOT_CONTEXT;
  return inSpan(name, { kind: SpanKind.CONSUMER, attributes }, parent, fn);
}

export interface ProducerSpan {
  /** The traceparent naming this span, for the message's header; undefined when the event has no trace. */
  readonly traceparent: string | undefined;
  end(error?: unknown): void;
}

const NO_SPAN: ProducerSpan = { traceparent: undefined, end: () => undefined };

/**
 * Sending one event's message (Kafka produce): a PRODUCER span that continues the trace the event
 * carries, so the consumer's span can be its child and the trace runs through the relay. One per
 * message even when messages go out in batches (the kafkajs instrumentation parents every message
 * of a batch on the one active context, so the relay makes these itself). Nothing for an event
 * without a trace.
 */
export function startProducerSpan(name: string, traceparent: string | undefined, attributes: Attributes): ProducerSpan {
  const remote = spanContextOf(traceparent);
  if (!remote) return NO_SPAN;
  const span = tracer.startSpan(
    name,
    { kind: SpanKind.PRODUCER, attributes },
    trace.setSpanContext(ROOT_CONTEXT, remote),
  );
  return {
    traceparent: traceparentOf(span.spanContext()),
    end(error?: unknown) {
      if (error !== undefined) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    },
  };
}

/** Most links on one batch span: a batch of events may span hundreds of traces. */
const MAX_LINKS = 128;

/**
 * A batch of events from many traces (projections): a root span of its own, linked to the trace
 * of each event (one link per trace, at most MAX_LINKS).
 */
export function inBatchSpan<T>(
  name: string,
  traceparents: Iterable<string | undefined>,
  attributes: Attributes,
  fn: () => Promise<T>,
): Promise<T> {
  const links: Link[] = [];
  const seen = new Set<string>();
  for (const traceparent of traceparents) {
    const linked = spanContextOf(traceparent);
    if (!linked || seen.has(linked.traceId)) continue;
    seen.add(linked.traceId);
    links.push({ context: linked });
    if (links.length >= MAX_LINKS) break;
  }
  return inSpan(name, { kind: SpanKind.INTERNAL, links, attributes, root: true }, ROOT_CONTEXT, fn);
}
