import express, { type Application, type RequestHandler } from 'express';
import { AccessGuard } from './auth/access-guard.js';
import { authenticate } from './auth/authenticate.js';
import { KeyRing } from './auth/key-ring.js';
import { TokenService } from './auth/token-service.js';
import { type ApiDependencies, type ApiOptions, resolveOptions } from './dependencies.js';
import { mountConsole } from './http/console.js';
import { requestContext } from './http/context.js';
import { mountApiDocs } from './http/docs.js';
import { errorHandler, unknownRoute } from './http/error-handler.js';
import { methodNotAllowed } from './http/method-not-allowed.js';
import { mountRoutes } from './http/mount.js';
import { rateLimits } from './http/rate-limit.js';
import { requestLogging } from './http/request-log.js';
import { corsAllowList, securityHeaders } from './http/security-headers.js';
import { buildOpenApiDocument } from './openapi/document.js';
import { apiRoutes } from './routes/index.js';
import { mountSystemRoutes } from './routes/system.js';

export const API_VERSION = '1.0.0';

/** First path segments of the system routes (health, OpenAPI document, docs and console pages). */
const SYSTEM_PATHS = new Set(['health', 'openapi.json', 'docs', 'console']);

/** Runs synchronous middlewares one after the other as a single handler; an error skips the rest. */
function inSequence(handlers: readonly RequestHandler[]): RequestHandler {
  return (req, res, next) => {
    let i = 0;
    const step = (error?: unknown): void => {
      if (error !== undefined && error !== null) {
        next(error);
        return;
      }
      const handler = handlers[i++];
      if (!handler) {
        next();
        return;
      }
      try {
        void handler(req, res, step);
      } catch (thrown) {
        next(thrown);
      }
    };
    step();
  };
}

function assemble(deps: ApiDependencies, options: ApiOptions) {
  const resolved = resolveOptions(options);
  const ring = new KeyRing(resolved.jwtKeys, resolved.issuer, resolved.audience);
  const tokens = new TokenService(ring, deps.identity, deps.refreshTokens, {
    access: resolved.accessTokenTtlSeconds,
    refresh: resolved.refreshTokenTtlSeconds,
  });
  return { resolved, ring, routes: apiRoutes(deps, resolved, tokens) };
}

/** The OpenAPI document of exactly the routes `createApp` mounts (for `docs/` or client generation). */
export const openApiDocument = (deps: ApiDependencies, options: ApiOptions) =>
  buildOpenApiDocument(assemble(deps, options).routes, { title: 'Chitti API', version: API_VERSION });

export function createApp(deps: ApiDependencies, options: ApiOptions): Application {
  const { resolved, ring, routes } = assemble(deps, options);
  const openapi = JSON.stringify(buildOpenApiDocument(routes, { title: 'Chitti API', version: API_VERSION }));

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', resolved.trustProxy);
  // What every request goes through first, as one express layer (each layer costs a turn of
  // express's matching loop, more than most of these middlewares themselves).
  app.use(
    inSequence([
      requestContext({ startTraces: resolved.startTraces }),
      requestLogging(deps.logger, deps.metrics),
      ...securityHeaders([['Cache-Control', 'no-store']]),
      ...corsAllowList(resolved.corsOrigins),
    ]),
  );

  const limits = rateLimits(deps.rateLimiter, resolved.rateLimit);
  const system = express.Router();
  mountSystemRoutes(system, deps, { guard: limits.perAddress('ready'), cacheMs: resolved.readinessCacheMs });
  system.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(openapi);
  });
  mountApiDocs(system);
  mountConsole(system);
  // Entered only by the paths it serves: API requests skip its routes.
  app.use((req, res, next) => {
    if (SYSTEM_PATHS.has(req.path.split('/', 2)[1]!.toLowerCase())) system(req, res, next);
    else next();
  });

  // A token that fails (forged, expired, revoked) costs its address the anonymous budget before
  // the 401 (see rate-limit.ts).
  const guard = new AccessGuard(deps.identity, deps.refreshTokens, resolved.accessTokenTtlSeconds);
  const authentication = express.Router();
  authentication.use(authenticate(ring, guard), limits.failedAuthentication);
  app.use(authentication);
  app.use(limits.byCaller);
  const api = express.Router();
  mountRoutes(api, routes, {
    idempotency: deps.idempotency,
    accessLog: deps.accessLog,
    logger: deps.logger,
    jsonBodyLimitBytes: resolved.jsonBodyLimitBytes,
  });
  app.use(api);

  app.use(methodNotAllowed(routes));
  app.use(unknownRoute);
  app.use(errorHandler(deps.logger));
  return app;
}
