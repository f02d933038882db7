import { z } from 'zod';
import { Id, Role } from '../events/common.js';

export const RegisterUser = z.object({
  userId: Id,
  email: z.string().email().max(254),
  displayName: z.string().min(1).max(200),
  /** Roles granted with the registration. */
  roles: z.array(Role).max(6).default([]),
});
export type RegisterUser = z.infer<typeof RegisterUser>;

export const GrantRole = z.object({ userId: Id, role: Role });
export type GrantRole = z.infer<typeof GrantRole>;

export const RevokeRole = z.object({ userId: Id, role: Role });
export type RevokeRole = z.infer<typeof RevokeRole>;

/** The server generates the key id and secret; the secret is shown once and only its sha256 is kept. */
export const IssueApiKey = z.object({
  userId: Id,
  label: z.string().max(200).default(''),
  expiresAt: z.string().datetime().nullable().default(null),
});
export type IssueApiKey = z.infer<typeof IssueApiKey>;

export const RevokeApiKey = z.object({ userId: Id, keyId: Id });
export type RevokeApiKey = z.infer<typeof RevokeApiKey>;
