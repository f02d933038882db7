import { describe, expect, it } from 'vitest';
import { spec } from '../../test/support/decider-spec.js';
import { DomainConflict, DomainRuleViolation, NotFound } from '../errors.js';
import type { UserCommand } from './commands.js';
import { MAX_ACTIVE_API_KEYS, type UserEvent, userDecider } from './index.js';

const userId = 'u1';
const cmd = <T extends UserCommand['type']>(type: T, data: Extract<UserCommand, { type: T }>['data']) =>
  ({ type, data, actor: 'admin' }) as Extract<UserCommand, { type: T }>;
const registered: UserEvent = {
  type: 'UserRegistered',
  data: { userId, email: 'ada@example.com', displayName: 'Ada', registeredBy: 'admin' },
};
const granted = (role: 'operator' | 'reviewer' | 'auditor'): UserEvent => ({
  type: 'RoleGranted',
  data: { userId, role, grantedBy: 'admin' },
});
const now = '2026-11-23T09:00:00.000Z';
const hash = (c: string) => c.repeat(64);
const issue = (keyId: string, secretSha256 = hash('a'), expiresAt: string | null = null) =>
  cmd('IssueApiKey', { userId, keyId, secretSha256, label: 'ci', expiresAt, now });
const issued = (keyId: string, secretSha256 = hash('a'), expiresAt: string | null = null): UserEvent => ({
  type: 'ApiKeyIssued',
  data: { userId, keyId, secretSha256, label: 'ci', expiresAt, issuedBy: 'admin' },
});

const user = spec(userDecider);

describe('user decider', () => {
  describe('RegisterUser', () => {
    const register = (roles: ('operator' | 'reviewer')[] = [], email = 'ada@example.com') =>
      cmd('RegisterUser', { userId, email, displayName: 'Ada', roles });
    it('registers with its initial roles, each granted once', () => {
      user
        .given([])
        .when(register(['reviewer', 'operator', 'reviewer']))
        .then([registered, granted('operator'), granted('reviewer')]);
    });
    it('is a no-op when the same registration is repeated', () => {
      user.given([registered]).when(register()).thenNothing();
    });
    it('refuses a different registration under the same id', () => {
      user
        .given([registered])
        .when(register([], 'eve@example.com'))
        .thenThrows(DomainConflict, 'user.already-registered');
    });
  });

  describe('roles', () => {
    it('grants a role once', () => {
      user
        .given([registered])
        .when(cmd('GrantRole', { userId, role: 'auditor' }))
        .then([granted('auditor')]);
      user
        .given([registered, granted('auditor')])
        .when(cmd('GrantRole', { userId, role: 'auditor' }))
        .thenNothing();
    });
    it('revokes a held role; revoking an absent role is a no-op', () => {
      user
        .given([registered, granted('auditor')])
        .when(cmd('RevokeRole', { userId, role: 'auditor' }))
        .thenState((s) => expect(s.status === 'registered' && s.roles).toEqual([]));
      user
        .given([registered])
        .when(cmd('RevokeRole', { userId, role: 'auditor' }))
        .thenNothing();
    });
    it('refuses an unknown user', () => {
      user
        .given([])
        .when(cmd('GrantRole', { userId, role: 'auditor' }))
        .thenThrows(NotFound, 'user.not-found');
    });
  });

  describe('api keys', () => {
    it('records only the hash of a new key', () => {
      user
        .given([registered])
        .when(issue('k1'))
        .then([issued('k1')]);
    });
    it('is a no-op for the same key id and hash, a conflict for another hash', () => {
      user
        .given([registered, issued('k1')])
        .when(issue('k1'))
        .thenNothing();
      user
        .given([registered, issued('k1')])
        .when(issue('k1', hash('b')))
        .thenThrows(DomainConflict, 'api-key.id-taken');
    });
    it('refuses an expiry that is not in the future', () => {
      user
        .given([registered])
        .when(issue('k1', hash('a'), now))
        .thenThrows(DomainRuleViolation, 'api-key.expiry-in-past');
      user
        .given([registered])
        .when(issue('k1', hash('a'), '2027-01-01T00:00:00Z'))
        .then([issued('k1', hash('a'), '2027-01-01T00:00:00Z')]);
    });
    it('caps active keys, not counting revoked or expired ones', () => {
      const keys = Array.from({ length: MAX_ACTIVE_API_KEYS }, (_, i) => issued(`k${i}`));
      user
        .given([registered, ...keys])
        .when(issue('kx'))
        .thenThrows(DomainRuleViolation, 'api-key.too-many');
      const revoked: UserEvent = { type: 'ApiKeyRevoked', data: { userId, keyId: 'k0', revokedBy: 'admin' } };
      user
        .given([registered, ...keys, revoked])
        .when(issue('kx'))
        .then([issued('kx')]);
      const expired = keys.map((_, i) => issued(`k${i}`, hash('a'), '2026-01-01T00:00:00Z'));
      user
        .given([registered, ...expired])
        .when(issue('kx'))
        .then([issued('kx')]);
    });
    it('revokes a key once; an unknown key is not found', () => {
      const revoke = cmd('RevokeApiKey', { userId, keyId: 'k1' });
      const revoked: UserEvent = { type: 'ApiKeyRevoked', data: { userId, keyId: 'k1', revokedBy: 'admin' } };
      user
        .given([registered, issued('k1')])
        .when(revoke)
        .then([revoked]);
      user
        .given([registered, issued('k1'), revoked])
        .when(revoke)
        .thenNothing();
      user.given([registered]).when(revoke).thenThrows(NotFound, 'api-key.not-found');
    });
  });
});
