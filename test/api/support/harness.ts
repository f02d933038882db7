import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { CoalescingAccessLog, type CoalescingOptions } from '../../../api/access/coalescing-access-log.js';
import { aggregateHistory } from '../../../api/adapters/aggregate-history.js';
import { bindCommands } from '../../../api/adapters/bind-commands.js';
import { workerImageValidator } from '../../../api/adapters/image-validator.js';
import { onnxModelInspector } from '../../../api/adapters/model-inspector.js';
import { createApp } from '../../../api/app.js';
import { sha256Hex } from '../../../api/auth/api-key.js';
import { KeyRing } from '../../../api/auth/key-ring.js';
import type { ApiDependencies, ApiOptions, JwtKey } from '../../../api/dependencies.js';
import { answerMalformedRequests } from '../../../api/http/client-error.js';
import type { RateLimiter } from '../../../api/ports/rate-limiter.js';
import { LogIdentityDirectory } from '../../../api/stores/log-identity-directory.js';
import { PgIdempotencyStore } from '../../../api/stores/pg-idempotency-store.js';
import { PgRefreshTokenStore } from '../../../api/stores/pg-refresh-token-store.js';
import { migrateApiTables } from '../../../api/stores/pg-schema.js';
import { SearchCache } from '../../../api/stores/search-cache.js';
import { StreamReadCache } from '../../../api/stores/stream-read-cache.js';
import { ImagePool } from '../../../inference/image-pool.js';
import { FsBlobStore } from '../../../infra/blob/fs-blob-store.js';
import { PostgresEventStore } from '../../../infra/postgres/event-store.js';
import { migrate } from '../../../infra/postgres/migrate.js';
import { postgresAuditVerifier } from '../../../infra/postgres/seal-records.js';
import { PostgresSearch } from '../../../infra/postgres-search/postgres-search.js';
import { InMemoryRateLimiter } from '../../../infra/rate-limit/in-memory.js';
import { generateWriterKey, type WriterKeyRing, writerKeyRing } from '../../../infra/sealing/writer-keys.js';
import { randomSecret } from '../../../infra/secrets.js';
import { ReadModelQueries } from '../../../projections/queries.js';
import { readModelProjections } from '../../../projections/read-models/index.js';
import { ProjectionRunner } from '../../../projections/runner.js';
import { SearchProjector } from '../../../projections/search/search-projector.js';
import type { Role } from '../../../schemas/events/index.js';
import { createTestDatabase, type TestDatabase } from '../../support/pg.js';

/** Made per test run: no signing secret is a constant, in tests either. */
export const KEY_A: JwtKey = { kid: 'k-2026-a', secret: randomSecret() };
export const KEY_B: JwtKey = { kid: 'k-2026-b', secret: randomSecret() };

/** The pieces of the real stack every API suite runs on: PostgreSQL, the event store, blobs, stores. */
export interface Backend {
  readonly db: TestDatabase;
  readonly pool: pg.Pool;
  readonly store: PostgresEventStore;
  /** The writer keys the store MACs appends with (a sealer needs them). */
  readonly writerKeys: WriterKeyRing;
  readonly identity: LogIdentityDirectory;
  readonly blobDir: string;
  readonly logLines: string[];
  close(): Promise<void>;
}

export async function startBackend(): Promise<Backend> {
  const db = await createTestDatabase('chitti_api');
  const pool = new pg.Pool({ connectionString: db.url, max: 6 });
  await migrate(pool);
  await migrateApiTables(pool);
  const writerKeys = writerKeyRing([generateWriterKey()]);
  const store = new PostgresEventStore(pool, { safetyPollMs: 200, writerKeys });
  const identity = new LogIdentityDirectory(store);
  identity.start();
  const blobDir = await mkdtemp(join(tmpdir(), 'chitti-api-blobs-'));
  return {
    db,
    pool,
    store,
    writerKeys,
    identity,
    blobDir,
    logLines: [],
    async close() {
      await identity.stop();
      await store.close();
      await pool.end();
      await db.drop();
      await rm(blobDir, { recursive: true, force: true });
    },
  };
}

export function logSink(lines: string[]) {
  return pino(
    { level: 'info', redact: ['req.headers.authorization'] },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );
}

export interface ServerUnderTest {
  readonly url: string;
  readonly deps: ApiDependencies;
  close(): Promise<void>;
}

export async function listen(deps: ApiDependencies, options: ApiOptions): Promise<ServerUnderTest> {
  const app = createApp(deps, options);
  const server = app.listen(0, '127.0.0.1');
  answerMalformedRequests(server);
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deps,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** The parts of ApiDependencies that come from the backend; the caller supplies the rest. */
export function backendDependencies(backend: Backend, rateLimiter: RateLimiter) {
  return {
    log: backend.store,
    blobs: new FsBlobStore(backend.blobDir),
    identity: backend.identity,
    refreshTokens: new PgRefreshTokenStore(backend.pool),
    idempotency: new PgIdempotencyStore(backend.pool),
    rateLimiter,
    healthChecks: [
      {
        name: 'postgres',
        check: async () => {
          await backend.pool.query('SELECT 1');
        },
      },
    ],
    metrics: new Registry(),
    logger: logSink(backend.logLines),
  } satisfies Partial<ApiDependencies>;
}

let userCounter = 0;

/** A user with roles and an API key, recorded as real events (what the user commands would append). */
export async function seedUser(
  backend: Backend,
  roles: readonly Role[],
  options: { expiresAt?: string | null } = {},
): Promise<{ userId: string; apiKey: string; keyId: string }> {
  userCounter += 1;
  const userId = `u${userCounter}-${roles.join('-') || 'none'}`;
  const keyId = sha256Hex(`${userId}-key`).slice(0, 16);
  const secret = sha256Hex(`${userId}-secret-${Math.random()}`);
  const metadata = { actor: 'test-setup' };
  await backend.store.append(
    `user-${userId}`,
    [
      {
        type: 'UserRegistered',
        data: { userId, email: `${userId}@example.com`, displayName: userId, registeredBy: 'test-setup' },
        metadata,
      },
      ...roles.map((role) => ({ type: 'RoleGranted', data: { userId, role, grantedBy: 'test-setup' }, metadata })),
      {
        type: 'ApiKeyIssued',
        data: {
          userId,
          keyId,
          secretSha256: sha256Hex(secret),
          label: 'test',
          expiresAt: options.expiresAt ?? null,
          issuedBy: 'test-setup',
        },
        metadata,
      },
    ],
    { expectedVersion: 'no_stream' },
  );
  return { userId, keyId, apiKey: `chitti_${keyId}_${secret}` };
}

export async function tokensFor(url: string, apiKey: string) {
  const response = await fetch(`${url}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiKey }),
  });
  if (response.status !== 200) throw new Error(`token exchange failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as { accessToken: string; refreshToken: string };
}

export const ringOf = (keys: readonly JwtKey[]) => new KeyRing(keys, 'chitti', 'chitti-api');

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export interface CallOptions {
  readonly body?: unknown;
  readonly raw?: Buffer;
  readonly headers?: Record<string, string>;
  /** Another server than the default one. */
  readonly base?: string;
}

/** `call(method, path, who, options)`: a request as one of the named token holders, JSON or raw body. */
export function caller<Who extends string>(base: () => string, tokens: Record<Who, string>) {
  return (method: string, path: string, who: Who, options: CallOptions = {}) =>
    fetch(`${options.base ?? base()}${path}`, {
      method,
      headers: {
        ...bearer(tokens[who]),
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(options.raw ? { 'content-type': 'application/octet-stream' } : {}),
        ...options.headers,
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      ...(options.raw ? { body: options.raw } : {}),
    });
}

// biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary response JSON
export type Json = any;
export const json = (response: Response): Promise<Json> => response.json() as Promise<Json>;

/** Every dependency real: command handlers, read models kept up by a running projector, Postgres search. */
export async function fullDependencies(
  backend: Backend,
  rateLimiter: RateLimiter = new InMemoryRateLimiter(),
  options: CoalescingOptions = {},
) {
  const base = backendDependencies(backend, rateLimiter);
  // As `chitti start` wires it: the projector notes each batch into the cache before applying it,
  // commands note their versions, and the cache follows the log.
  const inspectionCache = new StreamReadCache({
    name: 'inspection',
    streamPrefix: 'inspection-',
    registry: base.metrics,
  });
  inspectionCache.follow(backend.store, 0);
  const runner = new ProjectionRunner({
    pool: backend.pool,
    log: inspectionCache.notingAhead(backend.store),
    projections: readModelProjections,
    logger: base.logger,
  });
  await runner.start();
  const search = new PostgresSearch(backend.pool, { headPosition: () => backend.store.headPosition() });
  await search.prepare();
  const searchProjector = new SearchProjector({ log: backend.store, index: search, idleMs: 50 });
  searchProjector.start();
  const searchCache = new SearchCache(search, {
    changeEpoch: () => backend.store.changeEpoch(),
    registry: base.metrics,
  });
  const commands = bindCommands({ store: backend.store }, (result) => {
    inspectionCache.note(result.streamId, result.nextExpectedVersion);
    searchCache.noteWrite();
  });
  const accessLog = new CoalescingAccessLog(commands.recordAccess, base.logger, options);
  const images = new ImagePool({ workers: 2 });
  const deps: ApiDependencies = {
    ...base,
    commands,
    accessLog,
    queries: new ReadModelQueries(backend.pool, backend.store),
    history: aggregateHistory(backend.store),
    search: searchCache,
    auditVerifier: postgresAuditVerifier(backend.pool, backend.store, async () => ({ trustedKeys: new Map() })),
    modelInspector: onnxModelInspector(),
    imageValidator: workerImageValidator(images),
    inspectionCache,
  };
  return {
    deps,
    runner,
    async stop() {
      await accessLog.flush();
      await inspectionCache.stop();
      await searchProjector.stop();
      await runner.stop();
      await images.close();
    },
  };
}

export interface FullApi {
  readonly backend: Backend;
  readonly deps: ApiDependencies;
  readonly server: ServerUnderTest;
  /** The read-model projector (`caughtUp()` before reading what a command wrote). */
  readonly runner: ProjectionRunner;
  /** Stops the server, the projectors and the backend. */
  close(): Promise<void>;
}

/** Starts a backend, every dependency real (`fullDependencies`), and an API server on them. */
export async function startFullApi(
  options: ApiOptions,
  rateLimiter: RateLimiter = new InMemoryRateLimiter(),
  accessLog: CoalescingOptions = {},
): Promise<FullApi> {
  const backend = await startBackend();
  let full: Awaited<ReturnType<typeof fullDependencies>> | undefined;
  let server: ServerUnderTest | undefined;
  const close = async () => {
    await server?.close();
    await full?.stop();
    await backend.close();
  };
  try {
    full = await fullDependencies(backend, rateLimiter, accessLog);
    server = await listen(full.deps, options);
  } catch (error) {
    await close();
    throw error;
  }
  return { backend, deps: full.deps, server, runner: full.runner, close };
}
