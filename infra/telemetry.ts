import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { NodeSDK } from '@opentelemetry/sdk-node';

/**
 * Traces from HTTP through commands, Postgres, Kafka headers and inference. Without an OTLP
 * endpoint spans are still created (trace ids reach logs and event metadata) but not exported.
 */
export async function startTelemetry(options: {
  serviceName: string;
  otlpEndpoint?: string;
}): Promise<() => Promise<void>> {
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    ...(options.otlpEndpoint
      ? { traceExporter: new OTLPTraceExporter({ url: `${options.otlpEndpoint.replace(/\/$/, '')}/v1/traces` }) }
      : {}),
    instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation(), new PgInstrumentation()],
  });
  sdk.start();
  return () => sdk.shutdown();
}
