import { z } from 'zod';

/** The development defaults below are public knowledge: production refuses to start with them. */
export const DEV_JWT_SECRET = 'chitti-development-jwt-secret-change-me';
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

const jwtKeyRing = z.string().transform((s, ctx) => {
  const keys = s
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const colon = entry.indexOf(':');
      return colon > 0 ? { kid: entry.slice(0, colon), secret: entry.slice(colon + 1) } : null;
    });
  if (keys.length === 0 || keys.some((k) => k === null || k.secret.length < 32)) {
    ctx.addIssue({ code: 'custom', message: 'JWT_KEYS must be kid:secret[,kid:secret...], secrets ≥ 32 chars' });
    return z.NEVER;
  }
  return keys as { kid: string; secret: string }[];
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
    /** First key signs; every listed key verifies (rotation by kid). */
    JWT_KEYS: jwtKeyRing.default([{ kid: 'dev', secret: DEV_JWT_SECRET }]),
    SEAL_KEY: z.string().min(16).default(DEV_SEAL_KEY),
    SEAL_EVERY: z.coerce.number().int().min(1).default(1000),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
    RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(600),
    /** How long an Idempotency-Key of a request whose process died stays "in progress" before a retry takes it over. */
    IDEMPOTENCY_LEASE_SECONDS: z.coerce.number().min(0.5).max(3600).default(10),
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
  })
  .superRefine((c, ctx) => {
    if (c.CHITTI_ENV !== 'production') return;
    if (c.JWT_KEYS.some((k) => k.secret === DEV_JWT_SECRET)) {
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_KEYS'],
        message: 'the development JWT secret is refused in production',
      });
    }
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
