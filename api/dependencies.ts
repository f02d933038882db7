import type { Registry } from 'prom-client';
import type { GlobalLog } from '../commands/ports/event-store.js';
import type { BlobStore } from '../inference/ports/blob-store.js';
import { DEFAULT_MAX_PIXELS } from '../schemas/limits.js';
import type { AccessLog } from './ports/access-log.js';
import type { ApiCommands } from './ports/commands.js';
import type { HealthCheck } from './ports/health.js';
import type { IdempotencyStore } from './ports/idempotency.js';
import type { IdentityDirectory } from './ports/identity.js';
import type { ImageValidator } from './ports/image-validator.js';
import type { ApiLogger } from './ports/logger.js';
import type { ModelInspector } from './ports/model-inspector.js';
import type { AggregateHistory, ApiQueries, ApiSearch, AuditVerifier } from './ports/queries.js';
import { type RateLimiter, rateLimitProblem } from './ports/rate-limiter.js';
import type { RefreshTokenStore } from './ports/refresh-tokens.js';
import type { StreamReadCache } from './stores/stream-read-cache.js';

/** Everything the API calls, wired by the composition root (`cli/`). */
export interface ApiDependencies {
  readonly commands: ApiCommands;
  /** Where sensitive reads go on the record (denials coalesced); flushed by the composition root on shutdown. */
  readonly accessLog: AccessLog;
  readonly queries: ApiQueries;
  readonly history: AggregateHistory;
  readonly search: ApiSearch;
  readonly auditVerifier: AuditVerifier;
  /** The global log: SSE event stream and NDJSON audit export. */
  readonly log: GlobalLog;
  readonly blobs: BlobStore;
  /** Image blobs and model files may live in different stores; defaults to `blobs`. */
  readonly modelBlobs?: BlobStore;
  readonly modelInspector: ModelInspector;
  /** Full-decode check of uploaded images, off the event loop. */
  readonly imageValidator: ImageValidator;
  readonly identity: IdentityDirectory;
  readonly refreshTokens: RefreshTokenStore;
  readonly idempotency: IdempotencyStore;
  readonly rateLimiter: RateLimiter;
  readonly healthChecks: readonly HealthCheck[];
  readonly metrics: Registry;
  readonly logger: ApiLogger;
  /**
   * Answers of `GET /v1/inspections/{id}` kept per stream version (`StreamReadCache`); the
   * composition root makes it follow the log and notes its commands' versions. None: no caching.
   */
  readonly inspectionCache?: StreamReadCache;
}

export interface JwtKey {
  readonly kid: string;
  /** HS256 secret, at least 32 characters. */
  readonly secret: string;
}

export interface ApiOptions {
  /** The first key signs; every listed key verifies (rotation by kid). */
  readonly jwtKeys: readonly JwtKey[];
  readonly issuer?: string;
  readonly audience?: string;
  readonly accessTokenTtlSeconds?: number;
  readonly refreshTokenTtlSeconds?: number;
  readonly jsonBodyLimitBytes?: number;
  readonly maxUploadBytes?: number;
  readonly maxModelBytes?: number;
  /** The pixel limit shared with inference (MAX_IMAGE_PIXELS): what upload accepts, inference decodes. */
  readonly maxImagePixels?: number;
  /** Requests per window per principal (or per IP when anonymous). */
  readonly rateLimit?: { readonly authenticated: number; readonly anonymous: number; readonly windowMs: number };
  /**
   * Express `trust proxy` setting, for client IPs (rate limits) and `X-Forwarded-Proto` (HSTS)
   * behind a load balancer: hop count or addresses/subnets, never `true` (any client could then
   * choose its own address and escape its rate limit).
   */
  readonly trustProxy?: false | number | string;
  /** Origins (`https://app.example.com`) browsers may call the API from; none = no CORS headers. */
  readonly corsOrigins?: readonly string[];
  /** How long one round of readiness checks answers `/health/ready`. */
  readonly readinessCacheMs?: number;
  readonly sseHeartbeatMs?: number;
  /** The model an inspection request without one goes to. */
  readonly defaultModelName?: string;
  /**
   * Start each request's trace context here (trace id from a valid `traceparent`, else a new one;
   * a span id of its own; not sampled) when no HTTP instrumentation does: services whose telemetry
   * exports nothing, so that logs, events and `X-Trace-Id` still carry the request's trace.
   */
  readonly startTraces?: boolean;
}

export const DEFAULT_OPTIONS = {
  issuer: 'chitti',
  audience: 'chitti-api',
  accessTokenTtlSeconds: 15 * 60,
  refreshTokenTtlSeconds: 7 * 24 * 60 * 60,
  jsonBodyLimitBytes: 256 * 1024,
  maxUploadBytes: 64 * 1024 * 1024,
  maxModelBytes: 512 * 1024 * 1024,
  maxImagePixels: DEFAULT_MAX_PIXELS,
  rateLimit: { authenticated: 600, anonymous: 60, windowMs: 60_000 },
  trustProxy: false as false | number | string,
  corsOrigins: [] as readonly string[],
  readinessCacheMs: 1_000,
  sseHeartbeatMs: 15_000,
  defaultModelName: 'weld-defects',
  startTraces: false,
} as const;

export type ResolvedApiOptions = Required<ApiOptions>;

export function resolveOptions(options: ApiOptions): ResolvedApiOptions {
  if (options.jwtKeys.length === 0) throw new Error('at least one JWT key is required');
  for (const key of options.jwtKeys) {
    if (key.secret.length < 32) throw new Error(`JWT key ${key.kid}: secret must be at least 32 characters`);
  }
  // Refused here, at start: a limit the limiter would refuse would answer every request with 500.
  const limits = options.rateLimit;
  const problem =
    limits && rateLimitProblem({ authenticated: limits.authenticated, anonymous: limits.anonymous }, limits.windowMs);
  if (problem) throw new Error(`rate limit: ${problem}`);
  return { ...DEFAULT_OPTIONS, ...stripUndefined(options) } as ResolvedApiOptions;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
