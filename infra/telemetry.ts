import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { NoopSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

let running: NodeSDK | undefined;

/**
 * Traces from HTTP through commands, PostgreSQL, Kafka headers and inference. Without an OTLP
 * endpoint spans are still created (their trace ids reach logs and event metadata) but not
 * exported. Call it before http, express and pg are first imported (the CLI launcher does).
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
    // No exporter: spans still carry trace ids into logs and event metadata, but go nowhere
    // (NodeSDK would otherwise default to OTLP on localhost and log failed exports).
    ...(exporter ? { traceExporter: exporter } : { spanProcessors: [new NoopSpanProcessor()] }),
    instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation(), new PgInstrumentation()],
  });
  running.start();
}

/** Flushes and stops tracing when it was started; a no-op otherwise. */
export async function stopTelemetry(): Promise<void> {
  const sdk = running;
  running = undefined;
  await sdk?.shutdown();
}
