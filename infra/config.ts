import { z } from 'zod';
import { RATE_LIMIT_BOUNDS } from '../api/ports/rate-limiter.js';
import { DEFAULT_MAX_PIXELS } from '../schemas/limits.js';
import { secretWeakness } from './secrets.js';

/** The development defaults below are public knowledge: production refuses to start with them. */

const csv = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().min(1)).min(1));

export interface JwtKey {
  readonly kid: string;
  readonly secret: string;
}

/**
 * `kid:secret` entries separated by commas or newlines (JWT_KEYS, or the file JWT_KEYS_FILE names).
 * Every secret must pass `secretWeakness`, in every mode. Errors name the kid, never the secret.
 */
export function parseJwtKeyRing(text: string): { keys: JwtKey[] } | { error: string } {
  const entries = text
    .split(/[,\n]/)
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) return { error: 'no key: expected kid:secret[,kid:secret...]' };
  const keys: JwtKey[] = [];
  for (const [index, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    if (colon <= 0) return { error: `entry ${index + 1} is not kid:secret` };
    const key = { kid: entry.slice(0, colon), secret: entry.slice(colon + 1) };
    const weakness = secretWeakness(key.secret);
    if (weakness) return { error: `the secret of kid '${key.kid}' is refused: ${weakness}` };
    keys.push(key);
  }
  return { keys };
}

const jwtKeyRing = z.string().transform((s, ctx) => {
  const parsed = parseJwtKeyRing(s);
  if ('error' in parsed) {
    ctx.addIssue({ code: 'custom', message: `JWT_KEYS must be kid:secret[,kid:secret...]: ${parsed.error}` });
    return z.NEVER;
  }
  return parsed.keys;
});

const corsOrigins = z.string().transform((s, ctx) => {
  const origins = s
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    // An origin is scheme://host[:port] exactly: no path, no wildcard, no trailing slash.
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.origin !== origin) {
      ctx.addIssue({
        code: 'custom',
        message: `"${origin}" is not an origin such as https://app.example.com (no wildcard, path or trailing slash)`,
      });
      return z.NEVER;
    }
  }
  return origins;
});

/** The limiters refuse more than RATE_LIMIT_BOUNDS.maxLimit per window: so does the configuration, at start. */
const perMinute = z.coerce
  .number()
  .int()
  .min(1)
  .max(RATE_LIMIT_BOUNDS.maxLimit, `at most ${RATE_LIMIT_BOUNDS.maxLimit} per minute (what the rate limiter takes)`);

const trustProxy = z.string().transform((s, ctx): number | string => {
  const value = s.trim();
  if (/^\d{1,2}$/.test(value)) return Number(value);
  // `true` would believe any client's X-Forwarded-For, letting it pick its own rate-limit key.
  if (/^(true|\*)$/i.test(value) || value === '') {
    ctx.addIssue({ code: 'custom', message: 'name the proxies (hop count, or addresses/subnets), not "true"' });
    return z.NEVER;
  }
  return value;
});

export const ConfigSchema = z
  .object({
    CHITTI_ENV: z.enum(['development', 'test', 'production']).default('development'),
    HOST: z.string().default('127.0.0.1'),
    PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    /**
     * /metrics of every process; the API serves it here, not on PORT. Unset: a port per kind of
     * process (`cli/wiring/metrics-server.ts`), so an api, relay, projector and inference on one
     * host never clash; 0 picks a free one.
     */
    METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
    CHITTI_DATA_DIR: z.string().default('./data'),
    DATABASE_URL: z.string().url().optional(),
    EMBEDDED_PG_PORT: z.coerce.number().int().min(1024).max(65535).default(54329),
    KAFKA_BROKERS: csv.optional(),
    KAFKA_PARTITIONS: z.coerce.number().int().min(1).max(256).default(6),
    /** Topics are `<prefix>.<aggregate>`, the inference group `<prefix>-inference`: installs sharing a broker differ here. */
    KAFKA_TOPIC_PREFIX: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, _ and - only')
      .default('chitti'),
    ELASTICSEARCH_URL: z.string().url().optional(),
    /** Indexes and aliases are `<prefix>-detections`, ...: installs sharing a cluster differ here. */
    ELASTICSEARCH_INDEX_PREFIX: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, _ and - only')
      .default('chitti'),
    REDIS_URL: z.string().url().optional(),
    /**
     * First key signs; every listed key verifies (rotation by kid). Unset: JWT_KEYS_FILE, else
     * `chitti start` on a loopback HOST generates its own (`cli/jwt-keys.ts`); nothing else may.
     */
    JWT_KEYS: jwtKeyRing.optional(),
    /** A file holding the key ring in the JWT_KEYS format (one entry a line), mode 0600. */
    JWT_KEYS_FILE: z.string().min(1).optional(),
    /** Removed: seals are signed with Ed25519 now (docs/integrity.md). */
    SEAL_KEY: z
      .undefined({
        message:
          'SEAL_KEY was removed: seals are Ed25519-signed; give the old key as SEAL_LEGACY_HMAC_KEY to verify old seals',
      })
      .optional(),
    /** The sealer's Ed25519 private key as PEM; else SEAL_PRIVATE_KEY_FILE, else <data>/seal-key.pem (created, 0600). */
    SEAL_PRIVATE_KEY: z.string().min(1).optional(),
    SEAL_PRIVATE_KEY_FILE: z.string().min(1).optional(),
    /** PEM public keys an auditor trusts besides the anchor's (for processes without the anchor file). */
    SEAL_PUBLIC_KEYS_FILE: z.string().min(1).optional(),
    /** Append-only file outside the database with every seal's digest; default <data>/seal-anchor.ndjson. */
    SEAL_ANCHOR_FILE: z.string().min(1).optional(),
    /** The pre-Ed25519 HMAC key, only to verify seals written before the upgrade. */
    SEAL_LEGACY_HMAC_KEY: z.string().min(16).optional(),
    /** Events per seal, and the sealer's tick. */
    SEAL_EVERY: z.coerce.number().int().min(1).default(1000),
    SEAL_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(1000),
    /**
     * Writer keys (base64url, 32 bytes or more, newest first, one a line or comma separated): every
     * appending process MACs its events with the first; the sealer and audit verify accept all.
     * Else WRITER_KEYS_FILE, else <data>/secrets/writer-keys (created on first start, 0600).
     */
    WRITER_KEYS: z.string().min(1).optional(),
    WRITER_KEYS_FILE: z.string().min(1).optional(),
    /** audit verify fails when an event older than this is not under a verified seal. */
    SEAL_MAX_UNSEALED_SECONDS: z.coerce.number().int().min(1).default(60),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
    /** Per principal. */
    RATE_LIMIT_PER_MINUTE: perMinute.default(600),
    /** Per client address: anonymous calls, failed authentication, readiness probes (a bucket of their own). */
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: perMinute.default(60),
    /** Browser origins allowed to call the API (CORS); empty = no CORS headers at all. */
    CORS_ORIGINS: corsOrigins.default([]),
    /** Proxies whose X-Forwarded-For/-Proto are believed: hop count or addresses/subnets; unset = none. */
    TRUST_PROXY: trustProxy.optional(),
    /** A body is held in one Buffer while it is checked, so at most 2 GiB. */
    /** How long an Idempotency-Key of a request whose process died stays "in progress" before a retry takes it over. */
    IDEMPOTENCY_LEASE_SECONDS: z.coerce.number().min(0.5).max(3600).default(10),
    MAX_UPLOAD_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(2 * 1024 ** 3)
      .default(64 * 1024 * 1024),
    /** One limit for uploads and inference: an image upload accepts is one inference decodes. */
    MAX_IMAGE_PIXELS: z.coerce.number().int().min(1).default(DEFAULT_MAX_PIXELS),
    /** Image worker threads per process (decode, window, letterbox, tiles): image jobs at once. */
    IMAGE_WORKERS: z.coerce.number().int().min(1).max(64).default(2),
    /** Decoded pixels in flight in the inference process, in MiB; more decodes wait. */
    IMAGE_MEMORY_BUDGET_MB: z.coerce.number().int().min(16).default(512),
    INFERENCE_THREADS: z.coerce.number().int().min(1).max(64).default(1),
    INFERENCE_WORKERS: z.coerce.number().int().min(1).max(32).default(1),
    INFERENCE_MAX_BATCH: z.coerce.number().int().min(1).max(64).default(4),
    INFERENCE_MAX_WAIT_MS: z.coerce.number().int().min(0).max(1000).default(5),
    DEFAULT_MODEL: z.string().default('weld-defects'),
    /** Consumers' processed-event marks are kept this long (redeliveries inside it are caught). */
    DEDUPE_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(14),
    /** Idempotency-Key records (API responses and append results) are kept this long. */
    IDEMPOTENCY_RETENTION_HOURS: z.coerce.number().int().min(1).max(8760).default(24),
    /** How often expired dedupe and idempotency rows are deleted. */
    RETENTION_INTERVAL_SECONDS: z.coerce.number().int().min(10).max(86400).default(3600),
  })
  .superRefine((c, ctx) => {
    if (c.JWT_KEYS && c.JWT_KEYS_FILE) {
      ctx.addIssue({ code: 'custom', path: ['JWT_KEYS_FILE'], message: 'set JWT_KEYS or JWT_KEYS_FILE, not both' });
    }
  });

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly issues: readonly string[]) {
    super(`invalid configuration:\n  ${issues.join('\n  ')}`);
  }
}

/** The environment is valid but does not allow this process to start (port in use, secrets missing). */
export class StartupError extends Error {}

/**
 * Something this process needs is not there or not reachable (a database, a port, a password it
 * may not read): the operator fixes the environment, not the command line. CLI exit code 3.
 */
export class DependencyError extends StartupError {}

/** Parses the environment once at start; the error names every bad variable, never its value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = ConfigSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  return result.data;
}

/** Embedded when no external database is configured; distributed parts switch on per variable. */
export const modeOf = (c: Config): 'embedded' | 'distributed' =>
  c.DATABASE_URL && c.KAFKA_BROKERS ? 'distributed' : 'embedded';
