import type { TokenService } from '../auth/token-service.js';
import { route } from '../http/route.js';
import { RefreshRequest, SessionEnded, TokenPair, TokenRequest } from '../schemas.js';

export const authRoutes = (tokens: TokenService) => [
  route({
    method: 'post',
    path: '/auth/token',
    operationId: 'exchangeApiKey',
    summary: 'Exchange an API key for an access token (15 min) and a refresh token',
    tag: 'auth',
    permission: 'public',
    idempotent: false,
    body: { kind: 'json', schema: TokenRequest },
    responses: {
      200: { description: 'Tokens', schema: TokenPair },
      401: { description: 'Invalid, revoked or expired key' },
    },
    handle: async ({ body }) => ({ status: 200, body: await tokens.exchangeApiKey(body.apiKey) }),
  }),
  route({
    method: 'post',
    path: '/auth/refresh',
    operationId: 'refreshTokens',
    summary: 'Rotate a refresh token: each may be used once; reuse revokes the whole session',
    tag: 'auth',
    permission: 'public',
    idempotent: false,
    body: { kind: 'json', schema: RefreshRequest },
    responses: {
      200: { description: 'New tokens', schema: TokenPair },
      401: { description: 'Expired, unknown-key, reused or revoked refresh token' },
    },
    handle: async ({ body }) => ({ status: 200, body: await tokens.refresh(body.refreshToken) }),
  }),
  route({
    method: 'post',
    path: '/auth/logout',
    operationId: 'endSession',
    summary: "End the refresh token's session: its refresh tokens and, within a second, its access tokens stop working",
    tag: 'auth',
    permission: 'public',
    idempotent: false,
    body: { kind: 'json', schema: RefreshRequest },
    responses: {
      200: { description: 'Session ended (also when it had ended already)', schema: SessionEnded },
      401: { description: 'Not a valid refresh token' },
    },
    handle: async ({ body }) => ({ status: 200, body: await tokens.endSession(body.refreshToken) }),
  }),
];
