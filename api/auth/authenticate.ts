import type { NextFunction, Request, Response } from 'express';
import { contextOf } from '../http/context.js';
import { unauthenticated } from '../http/problem.js';
import type { AccessGuard } from './access-guard.js';
import { type AccessClaims, type KeyRing, TokenRejectedError } from './key-ring.js';

/** The auth scheme is case-insensitive (RFC 7235 §2.1): `bearer`, `BEARER` and `Bearer` are one. */
const BEARER = /^bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*) *$/i;

/** How often a response still open (event stream, export) re-checks the token that opened it. */
export const OPEN_RESPONSE_RECHECK_MS = 500;

/** A response still open and the token that opened it. */
interface Open {
  readonly res: Response;
  readonly claims: AccessClaims;
}

/**
 * A response can outlive its token's revocation or expiry (an event stream runs for hours): while
 * it is open, check again every OPEN_RESPONSE_RECHECK_MS and cut it when the token no longer holds.
 * Cut, not ended: a half export must not look complete, and a stream's client reconnects and meets
 * the 401. One timer per guard checks every open response (a timer per request cost more than most
 * requests, which end long before their first check).
 */
function openResponses(guard: AccessGuard) {
  const open = new Set<Open>();
  let timer: NodeJS.Timeout | undefined;
  const check = async (entry: Open) => {
    const { res, claims } = entry;
    if (res.destroyed || res.writableEnded) {
      open.delete(entry);
      return;
    }
    // While the revocation state cannot be read (database away) nothing new can reach the stream
    // either, since it reads the same database: keep it open and check again once the state is
    // readable, rather than cutting every subscriber at each outage. Expiry is checked regardless.
    const refused =
      claims.exp * 1000 <= Date.now() || (await guard.refusal(claims).catch(() => undefined)) !== undefined;
    if (refused && !res.destroyed) res.destroy();
  };
  const tick = () => {
    for (const entry of open) void check(entry);
    if (open.size === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  };
  return (res: Response, claims: AccessClaims): void => {
    const entry = { res, claims };
    open.add(entry);
    res.once('close', () => open.delete(entry));
    if (!timer) {
      timer = setInterval(tick, OPEN_RESPONSE_RECHECK_MS);
      timer.unref();
    }
  };
}

/**
 * Reads `Authorization: Bearer <access token>` into the request's principal. No header = anonymous
 * (routes then demand a permission); a header that does not verify, or whose token was revoked
 * since it was issued (`AccessGuard`), is always 401; a response it opened is cut once it is.
 */
export function authenticate(ring: KeyRing, guard: AccessGuard) {
  const recheckWhileOpen = openResponses(guard);
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const header = req.get('authorization');
    if (!header) {
      next();
      return;
    }
    const match = BEARER.exec(header);
    if (!match) {
      next(unauthenticated('the Authorization header must be "Bearer <access token>"', 'invalid_request'));
      return;
    }
    try {
      const claims = ring.verify(match[1]!, 'access');
      const refusal = await guard.refusal(claims);
      if (refusal) {
        next(unauthenticated(refusal));
        return;
      }
      contextOf(res).principal = { userId: claims.sub, roles: claims.roles, tokenId: claims.jti };
      recheckWhileOpen(res, claims);
      next();
    } catch (error) {
      next(error instanceof TokenRejectedError ? unauthenticated(error.message) : error);
    }
  };
}
