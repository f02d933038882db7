import { SpanKind } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allTopics } from '../../schemas/topics/index.js';
import { eventually, inspectionRequested, uniquePrefix } from '../../test/kafka/fixtures.js';
import { openRelayTestStack, type RelayTestStack } from '../../test/kafka/relay-stack.js';
import { CollectingExporter } from '../../test/support/collecting-exporter.js';
import { startTelemetry, stopTelemetry } from '../telemetry.js';
import { runConsumer } from './consumer.js';
import { PostgresDedupeStore } from './dedupe.js';

/**
 * The trace of an event crosses the relay and the broker: the relay's send span is a child of the
 * span the event names, the message header names the send span, and the consumer's handle span is
 * its child. (The distributed e2e test shows the same across real processes.)
 */
describe('tracing through the relay and Kafka', () => {
  let stack: RelayTestStack;
  const prefix = uniquePrefix();
  const exporter = new CollectingExporter();

  beforeAll(async () => {
    await startTelemetry({ serviceName: 'relay-tracing-test', exporter });
    stack = await openRelayTestStack();
  });

  afterAll(async () => {
    await stopTelemetry();
    await stack?.close(allTopics(prefix));
  });

  it('send span child of the event, handle span child of the send, one trace id', async () => {
    const traceId = 'a1'.repeat(16);
    const requestSpanId = 'b2'.repeat(8);
    const { store, pool, kafka } = stack;
    await store.append(
      'inspection-t1',
      [
        {
          ...inspectionRequested('t1'),
          metadata: { actor: 'user-1', traceparent: `00-${traceId}-${requestSpanId}-01` },
        },
      ],
      { expectedVersion: 'no_stream' },
    );
    await stack.publishAll(prefix);
    const headers: string[] = [];
    const consumer = await runConsumer({
      kafka,
      groupId: `${prefix}-tracing`,
      topics: [`${prefix}.inspections`],
      topicPrefix: prefix,
      dedupe: new PostgresDedupeStore(pool),
      handle: async (_event, delivery) => {
        headers.push(String(delivery.headers.traceparent));
      },
    });
    await eventually('the message handled', () => headers.length === 1);
    await consumer.stop();
    await stopTelemetry();

    const send = exporter.spans.find((s) => s.name === `send ${prefix}.inspections`);
    const handle = exporter.spans.find((s) => s.name === `handle ${prefix}.inspections`);
    expect(send?.kind).toBe(SpanKind.PRODUCER);
    expect(send?.spanContext().traceId).toBe(traceId);
    expect(send?.parentSpanContext?.spanId).toBe(requestSpanId);
    expect(headers[0]).toBe(`00-${traceId}-${send!.spanContext().spanId}-01`);
    expect(handle?.kind).toBe(SpanKind.CONSUMER);
    expect(handle?.spanContext().traceId).toBe(traceId);
    expect(handle?.parentSpanContext?.spanId).toBe(send!.spanContext().spanId);
  });
});
