import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { CollectingExporter } from '../test/support/collecting-exporter.js';
import { otlpTracesUrlOf, serviceNameOf, startTelemetry, stopTelemetry } from './telemetry.js';

describe('OpenTelemetry service name', () => {
  it('OTEL_SERVICE_NAME wins over the built-in name, on the spans exported', async () => {
    const exporter = new CollectingExporter();
    await startTelemetry({ serviceName: 'chitti-inference', exporter, env: { OTEL_SERVICE_NAME: 'inference-gpu-7' } });
    trace.getTracer('test').startSpan('work').end();
    await stopTelemetry();
    expect(exporter.spans.map((s) => [s.name, s.resource.attributes['service.name']])).toEqual([
      ['work', 'inference-gpu-7'],
    ]);
  });

  it('then service.name of OTEL_RESOURCE_ATTRIBUTES, then the process name', () => {
    expect(serviceNameOf('chitti-api', {})).toBe('chitti-api');
    expect(serviceNameOf('chitti-api', { OTEL_SERVICE_NAME: ' ' })).toBe('chitti-api');
    expect(serviceNameOf('chitti-api', { OTEL_RESOURCE_ATTRIBUTES: 'team=qa,service.name=edge%20api' })).toBe(
      'edge api',
    );
    expect(
      serviceNameOf('chitti-api', { OTEL_SERVICE_NAME: 'api-eu', OTEL_RESOURCE_ATTRIBUTES: 'service.name=other' }),
    ).toBe('api-eu');
  });

  it('traces go where the OTLP variables say, and nowhere when the SDK or the traces exporter is off', () => {
    expect(otlpTracesUrlOf({})).toBeUndefined();
    expect(otlpTracesUrlOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toBe(
      'http://collector:4318/v1/traces',
    );
    expect(
      otlpTracesUrlOf({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/ingest',
      }),
    ).toBe('https://traces.example/ingest');
    expect(
      otlpTracesUrlOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }),
    ).toBeUndefined();
    expect(
      otlpTracesUrlOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }),
    ).toBeUndefined();
  });
});
