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
  'config.SEAL_PRIVATE_KEY',
  'config.SEAL_LEGACY_HMAC_KEY',
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

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const OMITTED = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'err', 'v']);

/** One pino JSON line as a person reads it: time, level, message, then the other fields. */
export function formatPretty(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '';
  const level = (LEVEL_NAMES[entry.level as number] ?? String(entry.level)).padEnd(5);
  const fields = Object.entries(entry)
    .filter(([key]) => !OMITTED.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  const err = entry.err as { stack?: string; message?: string } | undefined;
  const tail = err ? `\n    ${(err.stack ?? err.message ?? '').replaceAll('\n', '\n    ')}` : '';
  return `${time} ${level} ${String(entry.msg ?? '')}${fields.length ? `  ${fields.join(' ')}` : ''}${tail}\n`;
}

/**
 * Where a process logs: a terminal gets human-readable lines, anything else (a pipe, a file, a
 * log shipper) gets JSON. Commands whose stdout is data (exports, reports, tails) log to stderr.
 */
export function logDestination(to: 'stdout' | 'stderr', options: { asyncWrites?: boolean } = {}): DestinationStream {
  const stream = to === 'stdout' ? process.stdout : process.stderr;
  if (stream.isTTY) return { write: (line: string) => void stream.write(formatPretty(line)) };
  // Services answer requests: asynchronous writes keep log lines from blocking the event loop.
  return pino.destination({ dest: to === 'stdout' ? 1 : 2, sync: !options.asyncWrites });
}
