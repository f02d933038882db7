import express, { type Application } from 'express';
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
  app.use(requestContext({ startTraces: resolved.startTraces }));
  app.use(requestLogging(deps.logger, deps.metrics));
  app.use(...securityHeaders(), ...corsAllowList(resolved.corsOrigins));
  app.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  const limits = rateLimits(deps.rateLimiter, resolved.rateLimit);
  const system = express.Router();
  mountSystemRoutes(system, deps, { guard: limits.perAddress('ready'), cacheMs: resolved.readinessCacheMs });
  system.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(openapi);
  });
  mountApiDocs(system);
  mountConsole(system);
  app.use(system);

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
