import { z } from 'zod';
import { secretWeakness } from './secrets.js';

/** The development defaults below are public knowledge: production refuses to start with them. */
export const DEV_SEAL_KEY = 'chitti-dev-seal-key-change-me';

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

export const ConfigSchema = z
  .object({
    CHITTI_ENV: z.enum(['development', 'test', 'production']).default('development'),
    HOST: z.string().default('127.0.0.1'),
    PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    /** /metrics of the processes without an API (relay, projector, inference). */
    METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
    CHITTI_DATA_DIR: z.string().default('./data'),
    DATABASE_URL: z.string().url().optional(),
    EMBEDDED_PG_PORT: z.coerce.number().int().min(1024).max(65535).default(54329),
    KAFKA_BROKERS: csv.optional(),
    KAFKA_PARTITIONS: z.coerce.number().int().min(1).max(256).default(6),
    ELASTICSEARCH_URL: z.string().url().optional(),
    REDIS_URL: z.string().url().optional(),
    /**
     * First key signs; every listed key verifies (rotation by kid). Unset: JWT_KEYS_FILE, else
     * `chitti start` on a loopback HOST generates its own (`cli/jwt-keys.ts`); nothing else may.
     */
    JWT_KEYS: jwtKeyRing.optional(),
    /** A file holding the key ring in the JWT_KEYS format (one entry a line), mode 0600. */
    JWT_KEYS_FILE: z.string().min(1).optional(),
    SEAL_KEY: z.string().min(16).default(DEV_SEAL_KEY),
    SEAL_EVERY: z.coerce.number().int().min(1).default(1000),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
    RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(600),
    MAX_UPLOAD_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .default(64 * 1024 * 1024),
    MAX_IMAGE_PIXELS: z.coerce.number().int().min(1).default(100_000_000),
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
    if (c.CHITTI_ENV !== 'production') return;
    if (c.SEAL_KEY === DEV_SEAL_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['SEAL_KEY'],
        message: 'the development seal key is refused in production',
      });
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
