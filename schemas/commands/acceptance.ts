import { z } from 'zod';
import { AcceptanceRules } from '../events/acceptance.js';
import { Id } from '../events/common.js';

export const CreateAcceptanceProfile = z.object({
  profileId: Id,
  name: z.string().min(1).max(100),
  description: z.string().max(2000).default(''),
  sample: z.boolean().default(false),
  rules: AcceptanceRules,
});
export type CreateAcceptanceProfile = z.infer<typeof CreateAcceptanceProfile>;

export const ReviseAcceptanceProfile = z.object({
  profileId: Id,
  rules: AcceptanceRules,
  note: z.string().max(2000).nullable().optional(),
});
export type ReviseAcceptanceProfile = z.infer<typeof ReviseAcceptanceProfile>;

export const RetireAcceptanceProfile = z.object({ profileId: Id, reason: z.string().min(1).max(500) });
export type RetireAcceptanceProfile = z.infer<typeof RetireAcceptanceProfile>;

/** Judge an inspection's live detections, as reviewed, against a profile (its latest revision unless named). */
export const EvaluateInspection = z.object({
  inspectionId: Id,
  profileId: Id,
  revision: z.number().int().min(1).optional(),
});
export type EvaluateInspection = z.infer<typeof EvaluateInspection>;
