import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { AlwaysOffSampler, NoopSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

let running: NodeSDK | undefined;
let instrumented = false;

/**
 * Traces from HTTP through commands, PostgreSQL, Kafka (relay send spans, kafkajs instrumentation
 * in consumers) and inference. Without an OTLP endpoint nothing is recorded, so nothing is
 * instrumented either: a non-recording span per request and per query cost more than the handler.
 * The API then starts each request's trace context itself (`requestTraceIds`: the caller's trace
 * id, or a new one, with a span id of its own), which carries the trace id into logs and event
 * metadata as the HTTP instrumentation's non-recording span did; Kafka messages carry it in the
 * event envelope either way. With an exporter, HTTP and PostgreSQL are instrumented and the HTTP span is named by
 * the matched route (`api/http/request-log.ts`) rather than by one span per express layer (the
 * express instrumentation cost more per request than the handler). Metrics are Prometheus's
 * (`/metrics` on METRICS_PORT), so OpenTelemetry gets no metric reader: no per-request attribute
 * hashing for a meter nobody reads. Call it before http and pg are first imported (the CLI
 * launcher does).
 */
export async function startTelemetry(options: {
  /** The name when neither OTEL_SERVICE_NAME nor `service.name` in OTEL_RESOURCE_ATTRIBUTES gives one. */
  serviceName: string;
  /** Instead of the OTLP exporter the OTEL_* variables configure (tests). */
  exporter?: SpanExporter;
  env?: NodeJS.ProcessEnv;
  /**
   * kafkajs instrumentation (consume: poll and process spans; produce: a send span per message,
   * e.g. dead letters). Off in a process that relays: it would re-parent every message of a relay
   * batch on one context and overwrite the per-event send span the relay puts in the header.
   */
  kafka?: boolean;
}): Promise<void> {
  if (running) return;
  const env = options.env ?? process.env;
  const url = otlpTracesUrlOf(env);
  const exporter = options.exporter ?? (url ? new OTLPTraceExporter({ url }) : undefined);
  running = new NodeSDK({
    serviceName: serviceNameOf(options.serviceName, env),
    // No exporter: NodeSDK would otherwise default to OTLP on localhost and log failed exports.
    // With one, sampling follows OTEL_TRACES_SAMPLER (parent-based, always on by default).
    ...(exporter
      ? { traceExporter: exporter }
      : { spanProcessors: [new NoopSpanProcessor()], sampler: new AlwaysOffSampler() }),
    metricReaders: [],
    instrumentations: exporter
      ? [new HttpInstrumentation(), new PgInstrumentation(), ...(options.kafka ? [new KafkaJsInstrumentation()] : [])]
      : [],
  });
  instrumented = exporter !== undefined;
  running.start();
}

/**
 * Where traces go, per the OTLP exporter specification: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it
 * is, else OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`; nothing when neither is set, when
 * OTEL_SDK_DISABLED is true or OTEL_TRACES_EXPORTER is `none` (headers, timeout and compression
 * come from OTEL_EXPORTER_OTLP_[TRACES_]HEADERS etc., read by the exporter itself).
 */
export function otlpTracesUrlOf(env: NodeJS.ProcessEnv): string | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  if (env.OTEL_TRACES_EXPORTER?.split(',').every((name) => name.trim() === 'none')) return undefined;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return base ? `${base.replace(/\/$/, '')}/v1/traces` : undefined;
}

/**
 * The service name, as the OpenTelemetry specification orders it: OTEL_SERVICE_NAME, then
 * `service.name` in OTEL_RESOURCE_ATTRIBUTES, then the process's own (`chitti-<command>`). The SDK
 * would let an explicit name win over both variables, so the choice is made here.
 */
export function serviceNameOf(fallback: string, env: NodeJS.ProcessEnv): string {
  const named = env.OTEL_SERVICE_NAME?.trim();
  if (named) return named;
  for (const pair of (env.OTEL_RESOURCE_ATTRIBUTES ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === 'service.name') {
      const value = decodeURIComponent(pair.slice(at + 1).trim());
      if (value) return value;
    }
  }
  return fallback;
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
