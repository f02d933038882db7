import { HttpProblem } from '../http/problem.js';
import type { IdentityDirectory } from '../ports/identity.js';
import type { RefreshTokenStore } from '../ports/refresh-tokens.js';
import type { AccessClaims } from './key-ring.js';

/**
 * How old the revocation state behind a request may be. Both sources are kept current by push
 * (the identity directory follows the log by LISTEN/NOTIFY) and, at the latest, by one refresh per
 * window, so a revocation bites within this plus one round trip.
 */
export const REVOCATION_STALENESS_MS = 250;

/** Longer than this without current revocation state (database away): refuse, never skip the check. */
export const REVOCATION_CHECK_TIMEOUT_MS = 5_000;

const unavailable = () =>
  new HttpProblem({
    status: 503,
    slug: 'unavailable',
    title: 'Service unavailable',
    detail: 'token revocation state cannot be checked right now',
    headers: { 'Retry-After': '5' },
  });

/** Fails closed: the check's sources unreachable or too slow means 503, not an unchecked token. */
async function checked<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unavailable()), REVOCATION_CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([work, timeout]);
  } catch (error) {
    throw error instanceof HttpProblem ? error : unavailable();
  } finally {
    clearTimeout(timer);
  }
}

/**
 * An access token is a signed snapshot of what held when it was issued. Each request checks that
 * it still holds: the user exists, the API key the session was opened with is neither revoked nor
 * expired, the user still has every role the token claims, and the session was not ended. A token
 * signed with a leaked key for an invented user or role is refused here too.
 */
export class AccessGuard {
  constructor(
    private readonly identity: IdentityDirectory,
    private readonly sessions: RefreshTokenStore,
    private readonly accessTokenTtlSeconds: number,
  ) {}

  /**
   * Why the token may no longer be used, or undefined. Accepting reads state at most
   * REVOCATION_STALENESS_MS old, shared by every request of that window (no query per request);
   * refusing confirms against the head first, so a user, key or role recorded a moment ago is not
   * refused for a window's staleness.
   */
  async refusal(claims: AccessClaims): Promise<string | undefined> {
    const refused = await this.refusalAt(claims, REVOCATION_STALENESS_MS);
    return refused === undefined ? undefined : this.refusalAt(claims, 0);
  }

  private async refusalAt(claims: AccessClaims, maxStalenessMs: number): Promise<string | undefined> {
    const freshness = { maxStalenessMs };
    const [user, key, sessionEnded] = await checked(
      Promise.all([
        this.identity.findUser(claims.sub, freshness),
        this.identity.findApiKey(claims.akid, freshness),
        claims.fam
          ? this.sessions.isSessionRevoked(claims.fam, {
              maxStalenessMs,
              horizonMs: this.accessTokenTtlSeconds * 1000,
            })
          : false,
      ]),
    );
    if (!user) return 'the user of this token does not exist';
    if (!key || key.userId !== claims.sub || key.revoked) return 'the API key of this token has been revoked';
    if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) return 'the API key of this token has expired';
    const held = new Set(user.roles);
    if (claims.roles.some((role) => !held.has(role))) {
      return 'a role of this token has been revoked: refresh it for the current roles';
    }
    if (sessionEnded) return 'the session of this token has ended: sign in again';
    return undefined;
  }
}
