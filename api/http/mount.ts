import { createHash } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { AccessLog } from '../ports/access-log.js';
import type { IdempotencyStore, StoredResponse } from '../ports/idempotency.js';
import type { ApiLogger } from '../ports/logger.js';
import { can, type Permission } from '../rbac.js';
import { contextOf, type RequestContext } from './context.js';
import { badRequest, forbidden, HttpProblem, unauthenticated, unprocessable, unsupportedMediaType } from './problem.js';
import { JsonText, type Reply, type RouteSpec, type SensitiveRead } from './route.js';
import { validateInput } from './validate.js';

export interface MountDependencies {
  readonly idempotency: IdempotencyStore;
  readonly accessLog: AccessLog;
  readonly logger: ApiLogger;
  readonly jsonBodyLimitBytes: number;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;
const IF_MATCH = /^"(\d+)"$/;
const WEAK_ETAG = /^W\//i;
/** Headers a stored response keeps for replay. */
const REPLAYED_HEADERS = ['location', 'etag'];

const mediaTypeOf = (req: Request): string | undefined =>
  req.get('content-type')?.split(';')[0]?.trim().toLowerCase() || undefined;

const isJsonType = (type: string): boolean => type === 'application/json' || type.endsWith('+json');

const lacking = (permission: Permission, roles: readonly string[]) =>
  forbidden(`this needs the permission ${permission}, which your roles (${roles.join(', ') || 'none'}) do not grant`);

/**
 * The caller's id, once authenticated and (unless the route is a sensitive read, which is decided
 * and recorded after validation) authorised.
 */
function principalOf(context: RequestContext, spec: RouteSpec): string {
  if (spec.permission === 'public') return context.principal?.userId ?? 'anonymous';
  const principal = context.principal;
  if (!principal) throw unauthenticated('this endpoint needs a bearer access token', 'invalid_request');
  if (!spec.sensitive && !can(principal.roles, spec.permission)) throw lacking(spec.permission, principal.roles);
  return principal.userId;
}

/** Checks the Content-Type before reading a byte, then parses within the route's size limit. */
function bodyParser(spec: RouteSpec, jsonLimit: number) {
  const body = spec.body;
  const parseJson = express.json({ limit: jsonLimit, strict: true, type: () => true });
  const parseRaw = express.raw({ limit: body?.kind === 'binary' ? body.maxBytes : 0, type: () => true });
  return (req: Request, res: Response, next: NextFunction): void => {
    const type = mediaTypeOf(req);
    if (!body) {
      next();
    } else if (body.kind === 'json') {
      if (type && isJsonType(type)) parseJson(req, res, next);
      else next(unsupportedMediaType(`send the body as application/json (got ${type ?? 'no Content-Type'})`));
    } else if (type && body.mediaTypes.includes(type)) {
      parseRaw(req, res, next);
    } else {
      next(unsupportedMediaType(`Content-Type must be one of ${body.mediaTypes.join(', ')} (got ${type ?? 'none'})`));
    }
  };
}

function requestHash(req: Request): string {
  const hash = createHash('sha256');
  hash.update(`${req.method} ${req.originalUrl}\n`);
  hash.update(`${req.get('content-type') ?? ''}\n${req.get('x-file-name') ?? ''}\n${req.get('if-match') ?? ''}\n`);
  if (Buffer.isBuffer(req.body)) hash.update(req.body);
  else if (req.body !== undefined) hash.update(JSON.stringify(req.body));
  return hash.digest('hex');
}

function writeReply(res: Response, reply: StoredResponse | Reply): void {
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  res.status(reply.status);
  if (reply.body === undefined || reply.body === null) res.end();
  else if (reply.body instanceof JsonText) {
    if (!res.get('Content-Type')) res.set('Content-Type', 'application/json');
    res.send(reply.body.text);
  } else res.json(reply.body);
}

function storable(reply: Reply): StoredResponse {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(reply.headers ?? {})) {
    if (REPLAYED_HEADERS.includes(name.toLowerCase())) headers[name] = value;
  }
  const body = reply.body instanceof JsonText ? reply.body.toJSON() : reply.body;
  return { status: reply.status, headers, body: body ?? null };
}

/** `/v1/files` of `/v1/files/:id/tags`: the first two segments, or undefined when they are not literal. */
function groupOf(path: string): string | undefined {
  const key = path.split('/', 3).join('/').toLowerCase();
  return /^[/a-z0-9._~-]*$/.test(key) ? key : undefined;
}

/**
 * Routes grouped by their first two path segments (all literal: `/v1/files`, `/auth/token`), one
 * router each, and one lookup per request that picks the group: a request is matched against its
 * own group's routes only, in their order, instead of against every route before it (express
 * tries each in turn). Same matches, same order: a request can only match routes of its group.
 * Matching stays case-insensitive and tolerant of a trailing slash, as express's.
 */
export function mountRoutes(router: Router, routes: readonly RouteSpec[], deps: MountDependencies): void {
  const groups = new Map<string, Router>();
  const literal = routes.every((spec) => groupOf(spec.path) !== undefined);
  for (const spec of routes) {
    const key = literal ? groupOf(spec.path)! : '';
    let group = groups.get(key);
    if (!group) {
      group = express.Router();
      groups.set(key, group);
    }
    mountRoute(group, spec, deps);
  }
  if (!literal) {
    router.use(groups.get('')!);
    return;
  }
  router.use((req: Request, res: Response, next: NextFunction) => {
    const group = groups.get(req.path.split('/', 3).join('/').toLowerCase());
    if (group) group(req, res, next);
    else next();
  });
}

/** One route with the same pipeline as every other: authorise, parse, validate, audit, idempotency, handle. */
function mountRoute(router: Router, spec: RouteSpec, deps: MountDependencies): void {
  const method = spec.method;
  router[method](
    spec.path,
    (_req, res, next) => {
      try {
        principalOf(contextOf(res), spec);
        next();
      } catch (error) {
        next(error);
      }
    },
    bodyParser(spec, deps.jsonBodyLimitBytes),
    async (req: Request, res: Response) => {
      const context = contextOf(res);
      const actor = principalOf(context, spec);
      const params = validateInput(spec.params, req.params, 'path', 400) as Record<string, unknown>;
      const query = validateInput(spec.query, req.query, 'query', 400) as Record<string, unknown>;
      for (const header of spec.headers ?? []) {
        const value = req.get(header.name);
        if (header.schema && value !== undefined) {
          validateInput(header.schema, value, `header/${header.name.toLowerCase()}`, 400);
        }
      }
      const body =
        spec.body?.kind === 'json'
          ? validateInput(spec.body.schema, req.body, 'body', 422)
          : spec.body?.kind === 'binary'
            ? (req.body as Buffer)
            : undefined;
      if (spec.body?.kind === 'binary' && (!Buffer.isBuffer(body) || body.length === 0)) {
        throw unprocessable('empty-body', 'Empty body', 'the request body is empty');
      }

      const ifMatchHeader = req.get('if-match');
      let ifMatch: number | undefined;
      if (ifMatchHeader !== undefined) {
        const match = spec.conditional ? IF_MATCH.exec(ifMatchHeader.trim()) : null;
        if (!spec.conditional) throw badRequest('this endpoint does not take If-Match');
        // RFC 9110 §13.1.1: If-Match compares strongly, and a weak tag never matches strongly, so the
        // precondition is false (412), not malformed. Chitti only ever sends strong ETags.
        if (WEAK_ETAG.test(ifMatchHeader.trim())) {
          throw new HttpProblem({
            status: 412,
            slug: 'weak-etag',
            title: 'If-Match needs a strong ETag',
            detail: 'If-Match compares strong ETags only; send the ETag as received: "<stream version>"',
          });
        }
        if (!match) throw badRequest('If-Match must be a strong ETag: "<stream version>"');
        ifMatch = Number(match[1]);
      }

      const idempotencyKey = req.get('idempotency-key');
      if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
        throw badRequest('Idempotency-Key must be 1-200 visible ASCII characters', [
          { pointer: 'header/idempotency-key', message: 'invalid' },
        ]);
      }

      // Every check of the request is above: a sensitive read is recorded only for a valid request.
      if (spec.sensitive && spec.permission !== 'public') {
        const roles = context.principal?.roles ?? [];
        const read = spec.sensitive({ params, query });
        if (read) {
          const required = [spec.permission, read.permission, ...(read.also ?? [])];
          await recordSensitiveRead(deps, context, actor, read, required, `${method.toUpperCase()} ${spec.path}`);
        } else if (!can(roles, spec.permission)) throw lacking(spec.permission, roles);
      }

      const run = (commandKey: string | undefined) =>
        spec.handle({ params, query, body, context, actor, idempotencyKey: commandKey, ifMatch, req, res });

      if (method !== 'post' || spec.idempotent === false || idempotencyKey === undefined) {
        const reply = await run(undefined);
        if (reply) writeReply(res, reply);
        return;
      }
      await runIdempotent(deps.idempotency, req, res, actor, idempotencyKey, run);
    },
  );
}

async function runIdempotent(
  store: IdempotencyStore,
  req: Request,
  res: Response,
  actor: string,
  key: string,
  run: (commandKey: string) => Promise<Reply | undefined>,
): Promise<void> {
  const scope = `${actor} ${req.method} ${req.path}`;
  const begin = await store.begin(scope, key, requestHash(req));
  if (begin.kind === 'replay') {
    res.setHeader('Idempotent-Replayed', 'true');
    writeReply(res, begin.response);
    return;
  }
  if (begin.kind === 'in-progress') {
    throw new HttpProblem({
      status: 409,
      slug: 'idempotency-key-in-use',
      title: 'Request in progress',
      detail: `a request with this Idempotency-Key is still running; retry in ${begin.retryAfterSeconds} s`,
      headers: { 'Retry-After': String(begin.retryAfterSeconds) },
    });
  }
  if (begin.kind === 'mismatch') {
    throw unprocessable(
      'idempotency-key-reused',
      'Idempotency-Key reused',
      'this Idempotency-Key was used before with a different request',
    );
  }
  const { lease } = begin;
  // Renewed while this process lives; if it dies, the lease runs out and a retry takes the key over.
  const renewal = setInterval(() => {
    store.renew(scope, key, lease).catch(() => {});
  }, store.renewEveryMs);
  renewal.unref();
  // The command layer gets a key scoped to the principal, so two users' keys never collide in the
  // event store; a retry that took the key over gets the events the first attempt committed.
  const commandKey = `api:${createHash('sha256').update(`${scope}\n${key}`).digest('hex').slice(0, 40)}`;
  let reply: Reply | undefined;
  try {
    reply = await run(commandKey);
  } catch (error) {
    clearInterval(renewal);
    // Failures are not stored: a retry runs again (and the command layer's key still dedupes appends).
    await store.abandon(scope, key, lease).catch(() => {});
    throw error;
  } finally {
    clearInterval(renewal);
  }
  if (!reply) {
    await store.abandon(scope, key, lease);
    return;
  }
  await store.complete(scope, key, lease, storable(reply));
  writeReply(res, reply);
}

/** Puts a sensitive read on the record, allowed or denied, before anything is read; denied ends in 403. */
async function recordSensitiveRead(
  deps: MountDependencies,
  context: RequestContext,
  actor: string,
  read: SensitiveRead,
  required: readonly Permission[],
  route: string,
): Promise<void> {
  const roles = context.principal?.roles ?? [];
  const missing = required.find((permission) => !can(roles, permission));
  const ctx = {
    actor,
    correlationId: context.correlationId,
    ...(context.traceparent ? { traceparent: context.traceparent } : {}),
  };
  try {
    // Denials may be coalesced with their repeats (AccessLog); allowed reads are written before they happen.
    await deps.accessLog.record(
      {
        action: read.action,
        resource: read.resource,
        decision: missing ? 'denied' : 'allowed',
        reason: missing ? `lacks ${missing}` : null,
        route,
      },
      ctx,
    );
  } catch (error) {
    // An unrecorded sensitive read must not happen: fail closed.
    deps.logger.error({ err: error, correlationId: context.correlationId }, 'recording access failed');
    if (!missing) throw error;
  }
  if (missing) throw lacking(missing, roles);
}
