import { createSecretKey, type KeyObject, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Role } from '../../schemas/events/index.js';
import type { JwtKey } from '../dependencies.js';

export type TokenUse = 'access' | 'refresh';

export interface AccessClaims {
  readonly sub: string;
  readonly roles: readonly Role[];
  readonly jti: string;
  /** The API key the session was opened with: refreshes stop once it is revoked. */
  readonly akid: string;
  /** The session (refresh-token family); absent in tokens issued before sessions were checked. */
  readonly fam?: string;
  readonly exp: number;
}

export interface RefreshClaims {
  readonly sub: string;
  readonly jti: string;
  /** Rotation family: every refresh token descended from one API-key exchange. */
  readonly fam: string;
  readonly akid: string;
  readonly exp: number;
}

export class TokenRejectedError extends Error {
  readonly code = 'token-rejected';
  constructor(
    readonly reason: 'expired' | 'unknown-kid' | 'invalid' | 'wrong-use',
    message: string,
  ) {
    super(message);
  }
}

const ALGORITHM = 'HS256';
/** Access tokens verified lately: a client sends the same token with every request until it expires. */
const VERIFIED_CACHE_SIZE = 10_000;

/**
 * Secrets become KeyObjects once, here: given a string, jsonwebtoken 9 first tries to parse it as a
 * public key (~0.7 ms per verification) before treating it as an HMAC secret.
 */
const hmacKey = (secret: string): KeyObject => createSecretKey(Buffer.from(secret, 'utf8'));

/**
 * JWT signing with key rotation: the first key signs (its id in the `kid` header), any listed key
 * verifies. Retiring a key = removing it from the list; its tokens then fail with `unknown-kid`.
 * Only HS256 is accepted, so an `alg: none` or algorithm-confusion token never verifies.
 */
export class KeyRing {
  private readonly keys: ReadonlyMap<string, KeyObject>;
  private readonly signingKey: { kid: string; key: KeyObject };
  /**
   * Claims of access tokens that verified, by the exact token text: the same bytes verify the same
   * way under the same (immutable) ring, so only expiry is checked again, as jsonwebtoken would.
   * Saves the HMAC and two JSON parses per request. Bounded; the oldest entries go first.
   */
  private readonly verified = new Map<string, AccessClaims>();

  constructor(
    keys: readonly JwtKey[],
    private readonly issuer: string,
    private readonly audience: string,
  ) {
    if (keys.length === 0) throw new Error('the key ring needs at least one key');
    this.signingKey = { kid: keys[0]!.kid, key: hmacKey(keys[0]!.secret) };
    this.keys = new Map(keys.map((k) => [k.kid, hmacKey(k.secret)]));
  }

  sign(
    use: TokenUse,
    subject: string,
    claims: Record<string, unknown>,
    ttlSeconds: number,
  ): { token: string; jti: string; expiresAt: Date } {
    const jti = randomUUID();
    const nowSeconds = Math.floor(Date.now() / 1000);
    const exp = nowSeconds + ttlSeconds;
    const token = jwt.sign({ ...claims, use, jti, iat: nowSeconds, exp }, this.signingKey.key, {
      algorithm: ALGORITHM,
      keyid: this.signingKey.kid,
      issuer: this.issuer,
      audience: this.audience,
      subject,
    });
    return { token, jti, expiresAt: new Date(exp * 1000) };
  }

  verify(token: string, use: 'access'): AccessClaims;
  verify(token: string, use: 'refresh'): RefreshClaims;
  verify(token: string, use: TokenUse): AccessClaims | RefreshClaims {
    if (use !== 'access') return this.verifyToken(token, use);
    const known = this.verified.get(token);
    if (known) {
      if (Math.floor(Date.now() / 1000) >= known.exp) {
        this.verified.delete(token);
        throw new TokenRejectedError('expired', 'the token has expired');
      }
      return known;
    }
    const claims = this.verifyToken(token, 'access') as AccessClaims;
    this.verified.set(token, claims);
    if (this.verified.size > VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
    return claims;
  }

  private verifyToken(token: string, use: TokenUse): AccessClaims | RefreshClaims {
    const decoded = jwt.decode(token, { complete: true });
    if (!decoded || typeof decoded.payload === 'string')
      throw new TokenRejectedError('invalid', 'the token is not a JWT');
    const kid = decoded.header.kid;
    const secret = kid ? this.keys.get(kid) : undefined;
    if (!secret) throw new TokenRejectedError('unknown-kid', 'the token was signed with an unknown key');
    let payload: jwt.JwtPayload;
    try {
      payload = jwt.verify(token, secret, {
        algorithms: [ALGORITHM],
        issuer: this.issuer,
        audience: this.audience,
      }) as jwt.JwtPayload;
    } catch (error) {
      if (error instanceof jwt.TokenExpiredError) throw new TokenRejectedError('expired', 'the token has expired');
      throw new TokenRejectedError('invalid', 'the token signature or claims are invalid');
    }
    if (payload.use !== use)
      throw new TokenRejectedError('wrong-use', `a ${String(payload.use)} token was given where ${use} is expected`);
    if (typeof payload.sub !== 'string' || typeof payload.jti !== 'string' || typeof payload.exp !== 'number') {
      throw new TokenRejectedError('invalid', 'the token lacks required claims');
    }
    if (use === 'access') {
      if (!Array.isArray(payload.roles)) throw new TokenRejectedError('invalid', 'the token lacks roles');
      return {
        sub: payload.sub,
        roles: payload.roles,
        jti: payload.jti,
        akid: String(payload.akid),
        ...(typeof payload.fam === 'string' ? { fam: payload.fam } : {}),
        exp: payload.exp,
      };
    }
    if (typeof payload.fam !== 'string') throw new TokenRejectedError('invalid', 'the token lacks a family');
    return { sub: payload.sub, jti: payload.jti, fam: payload.fam, akid: String(payload.akid), exp: payload.exp };
  }
}
