import { trace } from '@opentelemetry/api';
import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

/** Paths whose values never reach a log line. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'authorization',
  'password',
  'secret',
  'token',
  'accessToken',
  'refreshToken',
  'apiKey',
  '*.password',
  '*.secret',
  '*.token',
  '*.apiKey',
  '*.accessToken',
  '*.refreshToken',
  'config.JWT_KEYS',
  'config.SEAL_KEY',
];

/**
 * JSON logs; every line carries the active trace and span id when there is one. `asyncWrites`
 * (long-running services) writes stdout from libuv's thread pool, coalescing lines while a write is
 * in flight, instead of one blocking write per line on the event loop; pino flushes what is left
 * when the process exits. One-off commands keep synchronous writes, in order with their output.
 */
export function createLogger(
  options: { level?: string; name?: string; asyncWrites?: boolean } = {},
  destination?: DestinationStream,
): Logger {
  return pino(
    {
      name: options.name ?? 'chitti',
      level: options.level ?? 'info',
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      mixin() {
        const span = trace.getActiveSpan();
        if (!span) return {};
        const { traceId, spanId } = span.spanContext();
        return { traceId, spanId };
      },
    },
    destination ?? pino.destination({ dest: 1, sync: !options.asyncWrites }),
  );
}
