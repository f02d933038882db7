import type { NextFunction, Request, Response } from 'express';
import { contextOf } from '../http/context.js';
import { unauthenticated } from '../http/problem.js';
import { type KeyRing, TokenRejectedError } from './key-ring.js';

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/;

/**
 * Reads `Authorization: Bearer <access token>` into the request's principal. No header = anonymous
 * (routes then demand a permission); a header that does not verify is always 401.
 */
export function authenticate(ring: KeyRing) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const header = req.get('authorization');
    const match = header ? BEARER.exec(header) : null;
    if (!header) {
      next();
    } else if (!match) {
      next(unauthenticated('the Authorization header must be "Bearer <access token>"', 'invalid_request'));
    } else {
      try {
        const claims = ring.verify(match[1]!, 'access');
        contextOf(res).principal = { userId: claims.sub, roles: claims.roles, tokenId: claims.jti };
        next();
      } catch (error) {
        next(error instanceof TokenRejectedError ? unauthenticated(error.message) : error);
      }
    }
  };
}
