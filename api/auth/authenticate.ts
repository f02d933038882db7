import type { NextFunction, Request, Response } from 'express';
import { contextOf } from '../http/context.js';
import { unauthenticated } from '../http/problem.js';
import type { AccessGuard } from './access-guard.js';
import { type KeyRing, TokenRejectedError } from './key-ring.js';

/** The auth scheme is case-insensitive (RFC 7235 §2.1): `bearer`, `BEARER` and `Bearer` are one. */
const BEARER = /^bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*) *$/i;

/**
 * Reads `Authorization: Bearer <access token>` into the request's principal. No header = anonymous
 * (routes then demand a permission); a header that does not verify, or whose token was revoked
 * since it was issued (`AccessGuard`), is always 401.
 */
export function authenticate(ring: KeyRing, guard: AccessGuard) {
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
      next();
    } catch (error) {
      next(error instanceof TokenRejectedError ? unauthenticated(error.message) : error);
    }
  };
}
