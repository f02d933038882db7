/**
 * The one classifier of "a dependency is away, not the request wrong" errors: every retry loop
 * (subscriptions, projections, Kafka consumers, search) and the API's 503 mapping use it, so an
 * outage is handled the same way everywhere.
 */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
// SQLSTATE: admin shutdown, crash shutdown, cannot connect now (starting up / shutting down),
// too many connections, out of memory / disk-full class on the server side.
const POSTGRES_CODES = new Set(['57P01', '57P02', '57P03', '53300', '53000', '53200']);
// Messages node-postgres gives without a code when the socket or the pool gives up.
const CONNECTION_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|not queryable|Client was closed|connection (?:is )?closed/i;

/**
 * True when retrying later can succeed because a database or the network was unavailable:
 * connection refused, reset or terminated, server shut down or starting, too many connections.
 * Looks through `cause` and `AggregateError.errors` (a refused connect to `localhost` tries
 * several addresses).
 */
export function isDependencyUnavailable(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 4) return false;
  const { code, message, cause, errors } = error as {
    code?: unknown;
    message?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || POSTGRES_CODES.has(code)) return true;
    if (/^08[0-9A-Z]{3}$/.test(code)) return true; // SQLSTATE class 08: connection exception
  }
  if (typeof message === 'string' && CONNECTION_MESSAGES.test(message)) return true;
  if (cause !== undefined && isDependencyUnavailable(cause, depth + 1)) return true;
  return Array.isArray(errors) && errors.some((e) => isDependencyUnavailable(e, depth + 1));
}

/** Serialization failure and deadlock: the transaction lost a race; running it again is safe and will work. */
export function isRetryableConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40001' || code === '40P01';
}
