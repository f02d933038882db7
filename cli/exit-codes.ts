import { ConfigError, DependencyError, StartupError } from '../infra/config.js';

/**
 * The CLI's exit codes, one meaning each, so scripts and cron jobs can tell a tampered log from a
 * typo from a database that is down (documented in README.md, "Command line").
 */
export const EXIT = {
  ok: 0,
  /** `audit verify` found the log altered: the only code that means "tampered". */
  verificationFailed: 1,
  /** Bad command line or configuration: fix the invocation or the environment variables. */
  usage: 2,
  /** A database, broker, search server, port or file this command needs is not reachable. */
  dependency: 3,
  /** A bug: the stack trace is on stderr (EX_SOFTWARE of sysexits.h). */
  internal: 70,
} as const;

/** Socket, DNS and PostgreSQL codes that mean "not there / not letting us in", not "bad request". */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  '28P01', // invalid_password
  '28000', // invalid_authorization_specification
  '3D000', // invalid_catalog_name: the database does not exist
  '57P01', // admin_shutdown
  '57P03', // cannot_connect_now: starting up or shutting down
]);

/** Whether an error (or any error it aggregates or wraps) says a dependency cannot be reached. */
export function isUnreachable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 4) return false;
  const { code, errors, cause } = error as { code?: unknown; errors?: unknown; cause?: unknown };
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true;
  if (Array.isArray(errors) && errors.some((e) => isUnreachable(e, depth + 1))) return true;
  if ((error as Error).name === 'KafkaJSConnectionError' || (error as Error).name === 'ConnectionError') return true;
  return isUnreachable(cause, depth + 1);
}

export class UsageError extends Error {}

export function exitCodeOf(error: unknown): number {
  if (error instanceof DependencyError || isUnreachable(error)) return EXIT.dependency;
  if (error instanceof ConfigError || error instanceof StartupError || error instanceof UsageError) return EXIT.usage;
  return EXIT.internal;
}

/** One line that says what failed; AggregateErrors (happy-eyeballs connects) carry no message of their own. */
function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.message) return error.message;
  const inner = (error as { errors?: unknown[] }).errors?.[0];
  return inner ? messageOf(inner) : ((error as { code?: string }).code ?? error.name);
}

/** The one line an expected failure prints; a bare connection error gets told what to check. */
export function explainError(error: unknown): string {
  const message = messageOf(error);
  if (error instanceof DependencyError || !isUnreachable(error)) return message;
  return `cannot reach a dependency (${message}): check that it runs and DATABASE_URL, KAFKA_BROKERS, ELASTICSEARCH_URL or REDIS_URL`;
}
