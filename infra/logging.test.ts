import { Writable } from 'node:stream';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { describe, expect, it } from 'vitest';
import { createLogger, formatPretty } from './logging.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, stream };
}

describe('structured logs', () => {
  it('never writes secrets', () => {
    const { lines, stream } = capture();
    const logger = createLogger({}, stream);
    logger.info({
      req: { headers: { authorization: 'Bearer abc.def' } },
      apiKey: 'chitti_k_s3cret',
      user: { token: 't' },
    });
    const text = JSON.stringify(lines);
    expect(text).not.toContain('abc.def');
    expect(text).not.toContain('s3cret');
    expect(lines[0]?.apiKey).toBe('[redacted]');
  });

  it('carries the active trace id', () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const { lines, stream } = capture();
    const logger = createLogger({}, stream);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const span = trace.wrapSpanContext({ traceId, spanId: '00f067aa0ba902b7', traceFlags: 1 });
    context.with(trace.setSpan(context.active(), span), () => logger.info('inside'));
    logger.info('outside');
    expect(lines[0]).toMatchObject({ msg: 'inside', traceId, spanId: '00f067aa0ba902b7' });
    expect(lines[1]?.traceId).toBeUndefined();
    context.disable();
  });

  it('reads as one human line in a terminal: time, level, message, fields, redaction kept', () => {
    const raw: string[] = [];
    const logger = createLogger({ name: 'chitti-audit' }, { write: (line: string) => void raw.push(line) });
    logger.warn({ port: 5433, apiKey: 'chitti_k_s3cret' }, 'embedded PostgreSQL running');
    const line = formatPretty(raw[0]!);
    expect(line).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} WARN {2}embedded PostgreSQL running {2}port=5433 apiKey=\[redacted\]\n$/,
    );
    expect(formatPretty('not json')).toBe('not json\n');
  });
});
