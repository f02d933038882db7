import { randomUUID } from 'node:crypto';
import { unauthenticated } from '../http/problem.js';
import type { IdentityDirectory } from '../ports/identity.js';
import type { RefreshTokenStore } from '../ports/refresh-tokens.js';
import { parseApiKey, secretMatches } from './api-key.js';
import { type KeyRing, TokenRejectedError } from './key-ring.js';

export interface TokenPair {
  readonly tokenType: 'Bearer';
  readonly accessToken: string;
  readonly expiresIn: number;
  readonly refreshToken: string;
  readonly refreshExpiresIn: number;
}

/** The same answer for every bad key, so a caller cannot probe which key ids exist. */
const BAD_KEY = 'the API key is not valid';

/** Exchanges API keys for token pairs and rotates refresh tokens (a reused refresh token revokes its family). */
export class TokenService {
  constructor(
    private readonly ring: KeyRing,
    private readonly identity: IdentityDirectory,
    private readonly refreshTokens: RefreshTokenStore,
    private readonly ttl: { access: number; refresh: number },
  ) {}

  async exchangeApiKey(apiKey: string): Promise<TokenPair> {
    const parsed = parseApiKey(apiKey);
    if (!parsed) throw unauthenticated(BAD_KEY, 'invalid_request');
    const key = await this.identity.findApiKey(parsed.keyId);
    if (!key || !secretMatches(parsed.secret, key.secretSha256)) throw unauthenticated(BAD_KEY);
    await this.assertKeyUsable(key.keyId, key.userId);
    return this.issue(key.userId, key.keyId, randomUUID());
  }

  async refresh(refreshToken: string): Promise<TokenPair> {
    const claims = this.verifyRefresh(refreshToken);
    const outcome = await this.refreshTokens.consume(claims.jti);
    if (outcome.kind === 'reused') {
      throw unauthenticated('the refresh token was already used; its session is revoked, sign in again');
    }
    if (outcome.kind !== 'rotated') throw unauthenticated('the refresh token is not valid');
    await this.assertKeyUsable(claims.akid, claims.sub);
    return this.issue(claims.sub, claims.akid, claims.fam);
  }

  /** Logout: ends the whole session (refresh-token family) the token belongs to. Idempotent. */
  async endSession(refreshToken: string): Promise<{ sessionEnded: true }> {
    const claims = this.verifyRefresh(refreshToken);
    await this.refreshTokens.revokeFamily(claims.fam);
    return { sessionEnded: true };
  }

  private verifyRefresh(refreshToken: string) {
    try {
      return this.ring.verify(refreshToken, 'refresh');
    } catch (error) {
      throw error instanceof TokenRejectedError ? unauthenticated(error.message) : error;
    }
  }

  private async assertKeyUsable(keyId: string, userId: string): Promise<void> {
    const key = await this.identity.findApiKey(keyId);
    if (!key || key.userId !== userId || key.revoked) throw unauthenticated(BAD_KEY);
    if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) throw unauthenticated('the API key has expired');
  }

  private async issue(userId: string, keyId: string, familyId: string): Promise<TokenPair> {
    const user = await this.identity.findUser(userId);
    if (!user) throw unauthenticated(BAD_KEY);
    const access = this.ring.sign('access', userId, { roles: user.roles, akid: keyId, fam: familyId }, this.ttl.access);
    const refresh = this.ring.sign('refresh', userId, { fam: familyId, akid: keyId }, this.ttl.refresh);
    await this.refreshTokens.register({ jti: refresh.jti, familyId, userId, expiresAt: refresh.expiresAt });
    return {
      tokenType: 'Bearer',
      accessToken: access.token,
      expiresIn: this.ttl.access,
      refreshToken: refresh.token,
      refreshExpiresIn: this.ttl.refresh,
    };
  }
}
