import type { EventOfType, Role } from '../../schemas/events/index.js';

export type UserEvent = EventOfType<
  'UserRegistered' | 'RoleGranted' | 'RoleRevoked' | 'ApiKeyIssued' | 'ApiKeyRevoked'
>;

export interface ApiKeyState {
  readonly secretSha256: string;
  readonly label: string;
  readonly expiresAt: string | null;
  readonly revoked: boolean;
}

export type UserState =
  | { readonly status: 'absent' }
  | {
      readonly status: 'registered';
      readonly userId: string;
      readonly email: string;
      readonly displayName: string;
      /** Sorted. */
      readonly roles: readonly Role[];
      readonly apiKeys: Readonly<Record<string, ApiKeyState>>;
    };

export const initialUserState = (): UserState => ({ status: 'absent' });

export function evolveUser(state: UserState, event: UserEvent): UserState {
  if (event.type === 'UserRegistered') {
    const { userId, email, displayName } = event.data;
    return { status: 'registered', userId, email, displayName, roles: [], apiKeys: {} };
  }
  if (state.status === 'absent') return state;
  switch (event.type) {
    case 'RoleGranted':
      return { ...state, roles: [...new Set([...state.roles, event.data.role])].sort() };
    case 'RoleRevoked':
      return { ...state, roles: state.roles.filter((r) => r !== event.data.role) };
    case 'ApiKeyIssued': {
      const { keyId, secretSha256, label, expiresAt } = event.data;
      return { ...state, apiKeys: { ...state.apiKeys, [keyId]: { secretSha256, label, expiresAt, revoked: false } } };
    }
    case 'ApiKeyRevoked': {
      const key = state.apiKeys[event.data.keyId];
      if (!key) return state;
      return { ...state, apiKeys: { ...state.apiKeys, [event.data.keyId]: { ...key, revoked: true } } };
    }
    default:
      return state;
  }
}
