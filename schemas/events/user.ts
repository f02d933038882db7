import { z } from 'zod';
import { Actor, Id, Role } from './common.js';
import { defineEvent } from './define.js';

export const UserRegistered = defineEvent({
  type: 'UserRegistered',
  description: 'A user account exists. No secret is ever stored in an event.',
  schema: z.object({
    userId: Id,
    email: z.string().email().max(254),
    displayName: z.string().min(1).max(200),
    registeredBy: Actor,
  }),
});

export const RoleGranted = defineEvent({
  type: 'RoleGranted',
  description: 'A role was granted to a user.',
  schema: z.object({ userId: Id, role: Role, grantedBy: Actor }),
});

export const RoleRevoked = defineEvent({
  type: 'RoleRevoked',
  description: 'A role was taken from a user.',
  schema: z.object({ userId: Id, role: Role, revokedBy: Actor }),
});

export const ApiKeyIssued = defineEvent({
  type: 'ApiKeyIssued',
  description: 'An API key was issued; only its sha256 is recorded, the secret is shown once.',
  schema: z.object({
    userId: Id,
    keyId: Id,
    secretSha256: z.string().regex(/^[a-f0-9]{64}$/),
    label: z.string().max(200),
    expiresAt: z.string().datetime().nullable(),
    issuedBy: Actor,
  }),
});

export const ApiKeyRevoked = defineEvent({
  type: 'ApiKeyRevoked',
  description: 'An API key stops working.',
  schema: z.object({ userId: Id, keyId: Id, revokedBy: Actor }),
});
