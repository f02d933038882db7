import { DomainConflict, DomainRuleViolation, NotFound } from '../errors.js';
import type {
  GrantRoleCommand,
  IssueApiKeyCommand,
  RegisterUserCommand,
  RevokeApiKeyCommand,
  RevokeRoleCommand,
  UserCommand,
} from './commands.js';
import type { UserEvent, UserState } from './state.js';

export const MAX_ACTIVE_API_KEYS = 20;

export function decideUser(command: UserCommand, state: UserState): UserEvent[] {
  switch (command.type) {
    case 'RegisterUser':
      return register(command, state);
    case 'GrantRole':
      return grant(command, state);
    case 'RevokeRole':
      return revoke(command, state);
    case 'IssueApiKey':
      return issueKey(command, state);
    case 'RevokeApiKey':
      return revokeKey(command, state);
  }
}

function register({ data, actor }: RegisterUserCommand, state: UserState): UserEvent[] {
  if (state.status === 'registered') {
    if (state.email === data.email && state.displayName === data.displayName) return [];
    throw new DomainConflict('user.already-registered', `user '${data.userId}' is already registered`, {
      userId: data.userId,
    });
  }
  return [
    {
      type: 'UserRegistered',
      data: { userId: data.userId, email: data.email, displayName: data.displayName, registeredBy: actor },
    },
    ...[...new Set(data.roles)]
      .sort()
      .map((role): UserEvent => ({ type: 'RoleGranted', data: { userId: data.userId, role, grantedBy: actor } })),
  ];
}

function grant({ data, actor }: GrantRoleCommand, state: UserState): UserEvent[] {
  const user = requireUser(state, data.userId);
  if (user.roles.includes(data.role)) return [];
  return [{ type: 'RoleGranted', data: { userId: data.userId, role: data.role, grantedBy: actor } }];
}

function revoke({ data, actor }: RevokeRoleCommand, state: UserState): UserEvent[] {
  const user = requireUser(state, data.userId);
  if (!user.roles.includes(data.role)) return [];
  return [{ type: 'RoleRevoked', data: { userId: data.userId, role: data.role, revokedBy: actor } }];
}

function issueKey({ data, actor }: IssueApiKeyCommand, state: UserState): UserEvent[] {
  const user = requireUser(state, data.userId);
  const existing = user.apiKeys[data.keyId];
  if (existing) {
    if (existing.secretSha256 === data.secretSha256) return [];
    throw new DomainConflict('api-key.id-taken', `api key id '${data.keyId}' is already used`, { keyId: data.keyId });
  }
  if (data.expiresAt !== null && Date.parse(data.expiresAt) <= Date.parse(data.now)) {
    throw new DomainRuleViolation('api-key.expiry-in-past', 'an api key must expire in the future', {
      expiresAt: data.expiresAt,
    });
  }
  const active = Object.values(user.apiKeys).filter(
    (k) => !k.revoked && (k.expiresAt === null || Date.parse(k.expiresAt) > Date.parse(data.now)),
  );
  if (active.length >= MAX_ACTIVE_API_KEYS) {
    throw new DomainRuleViolation('api-key.too-many', `at most ${MAX_ACTIVE_API_KEYS} active api keys per user`, {
      userId: data.userId,
    });
  }
  return [
    {
      type: 'ApiKeyIssued',
      data: {
        userId: data.userId,
        keyId: data.keyId,
        secretSha256: data.secretSha256,
        label: data.label,
        expiresAt: data.expiresAt,
        issuedBy: actor,
      },
    },
  ];
}

function revokeKey({ data, actor }: RevokeApiKeyCommand, state: UserState): UserEvent[] {
  const user = requireUser(state, data.userId);
  const key = user.apiKeys[data.keyId];
  if (!key) throw new NotFound('api-key', data.keyId);
  if (key.revoked) return [];
  return [{ type: 'ApiKeyRevoked', data: { userId: data.userId, keyId: data.keyId, revokedBy: actor } }];
}

function requireUser(state: UserState, userId: string): Extract<UserState, { status: 'registered' }> {
  if (state.status === 'absent') throw new NotFound('user', userId);
  return state;
}
