import type { Role } from '../schemas/events/index.js';

export const permissions = [
  'files:read',
  'files:write',
  'files:delete',
  'inspections:read',
  'inspections:request',
  'inspections:review',
  'models:read',
  'models:manage',
  'users:read',
  'users:manage',
  'stats:read',
  'audit:read',
  'audit:verify',
  'audit:export',
  'history:as-of',
  'events:stream',
] as const;
export type Permission = (typeof permissions)[number];

const read: readonly Permission[] = ['files:read', 'inspections:read', 'models:read', 'stats:read'];

/** What each role may do. Admin holds every permission; the others hold exactly what their job needs. */
export const rolePermissions: Readonly<Record<Role, readonly Permission[]>> = {
  admin: permissions,
  viewer: read,
  operator: [...read, 'files:write', 'inspections:request', 'events:stream'],
  reviewer: [...read, 'inspections:review', 'events:stream'],
  'ml-engineer': [...read, 'models:manage', 'events:stream'],
  auditor: [...read, 'users:read', 'audit:read', 'audit:verify', 'audit:export', 'history:as-of', 'events:stream'],
};

const granted = new Map<Role, ReadonlySet<Permission>>(
  Object.entries(rolePermissions).map(([role, list]) => [role as Role, new Set(list)]),
);

export function can(roles: readonly Role[], permission: Permission): boolean {
  return roles.some((role) => granted.get(role)?.has(permission) ?? false);
}
