import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { AlwaysOffSampler, NoopSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

let running: NodeSDK | undefined;
let instrumented = false;

/**
 * Traces from HTTP through commands, PostgreSQL, Kafka headers and inference. Without an OTLP
 * endpoint nothing is recorded, so nothing is instrumented either: a non-recording span per request
 * and per query cost more than the handler. The API then starts each request's trace context itself
 * (`requestTraceIds`: the caller's trace id, or a new one, with a span id of its own), which carries
 * the trace id into logs and event metadata as the HTTP instrumentation's non-recording span did.
 * With an exporter, HTTP and PostgreSQL are instrumented and the HTTP span is named by
 * the matched route (`api/http/request-log.ts`) rather than by one span per express layer (the
 * express instrumentation cost more per request than the handler). Metrics are Prometheus's
 * (`/metrics` on METRICS_PORT), so OpenTelemetry gets no metric reader: no per-request attribute
 * hashing for a meter nobody reads. Call it before http and pg are first imported (the CLI
 * launcher does).
 */
export async function startTelemetry(options: {
  serviceName: string;
  otlpEndpoint?: string;
  exporter?: SpanExporter;
}): Promise<void> {
  if (running) return;
  const exporter =
    options.exporter ??
    (options.otlpEndpoint
      ? new OTLPTraceExporter({ url: `${options.otlpEndpoint.replace(/\/$/, '')}/v1/traces` })
      : undefined);
  running = new NodeSDK({
    serviceName: options.serviceName,
    // No exporter: NodeSDK would otherwise default to OTLP on localhost and log failed exports.
    // With one, sampling follows OTEL_TRACES_SAMPLER (parent-based, always on by default).
    ...(exporter
      ? { traceExporter: exporter }
      : { spanProcessors: [new NoopSpanProcessor()], sampler: new AlwaysOffSampler() }),
    metricReaders: [],
    instrumentations: exporter ? [new HttpInstrumentation(), new PgInstrumentation()] : [],
  });
  instrumented = exporter !== undefined;
  running.start();
}

/**
 * Whether the API must start each request's trace context itself: telemetry runs (a service) but
 * without HTTP instrumentation, so no span would otherwise carry the request's trace id.
 */
export const requestTraceIds = (): boolean => running !== undefined && !instrumented;

/** Flushes and stops tracing when it was started; a no-op otherwise. */
export async function stopTelemetry(): Promise<void> {
  const sdk = running;
  running = undefined;
  instrumented = false;
  await sdk?.shutdown();
}
