import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { CollectingExporter } from '../test/support/collecting-exporter.js';
import { serviceNameOf, startTelemetry, stopTelemetry } from './telemetry.js';

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
});
