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
  /**
   * v2: the same payload in the log, but `secretSha256` is no longer published on topics (secret
   * material never leaves Chitti). Published v1 messages carried it; v2 consumers never see it.
   */
  version: 2,
  upcasters: { 1: (v1) => ({ ...v1 }) },
  unpublished: ['secretSha256'],
  description:
    'An API key was issued; only its sha256 is recorded (never published on topics), the secret is shown once.',
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
