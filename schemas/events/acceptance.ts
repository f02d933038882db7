import { z } from 'zod';
import { Actor, Id } from './common.js';
import { defineEvent } from './define.js';

const ClassName = z.string().min(1).max(100);
const RuleId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and - only');
const Classes = z.array(ClassName).min(1).max(20);
const Millimetres = z.number().positive().max(10_000);

/**
 * One limit of an acceptance level, written the way radiographic acceptance levels are (ISO
 * 10675-1 style): an imperfection type, what is measured, and the largest value accepted.
 * Sizes are in millimetres, measured from the box in original pixels times the pixel spacing.
 */
export const AcceptanceRule = z.discriminatedUnion('kind', [
  /** Any indication of these classes rejects (e.g. cracks). Needs no measurement. */
  z.object({ id: RuleId, kind: z.literal('not-permitted'), classes: Classes, description: z.string().max(500) }),
  /** At most `max` indications of these classes. Needs no measurement. */
  z.object({
    id: RuleId,
    kind: z.literal('max-count'),
    classes: Classes,
    max: z.number().int().min(0).max(10_000),
    description: z.string().max(500),
  }),
  /** Largest single indication: its larger box side (a pore's diameter), in mm. */
  z.object({
    id: RuleId,
    kind: z.literal('max-size'),
    classes: Classes,
    maxMm: Millimetres,
    description: z.string().max(500),
  }),
  /** Longest linear indication: its box diagonal (an upper bound for a straight line), in mm. */
  z.object({
    id: RuleId,
    kind: z.literal('max-length'),
    classes: Classes,
    maxMm: Millimetres,
    description: z.string().max(500),
  }),
  /** Sum of the indications' lengths (box diagonals) per `perMm` of weld, the weld taken as the image width. */
  z.object({
    id: RuleId,
    kind: z.literal('max-total-length'),
    classes: Classes,
    maxMm: Millimetres,
    perMm: Millimetres,
    description: z.string().max(500),
  }),
  /**
   * Projected area of the indications (ellipses inscribed in their boxes) as a percentage of the
   * image area. A ratio of areas: the same in pixels as in mm, so it needs no pixel spacing.
   */
  z.object({
    id: RuleId,
    kind: z.literal('max-area-percent'),
    classes: Classes,
    maxPercent: z.number().min(0).max(100),
    description: z.string().max(500),
  }),
]);
export type AcceptanceRule = z.infer<typeof AcceptanceRule>;

export const AcceptanceRules = z
  .array(AcceptanceRule)
  .min(1)
  .max(50)
  .refine((rules) => new Set(rules.map((r) => r.id)).size === rules.length, 'rule ids must be unique');

const ProfileName = z.string().min(1).max(100);

export const AcceptanceProfileCreated = defineEvent({
  type: 'AcceptanceProfileCreated',
  description:
    'An acceptance profile (a versioned rule set that turns detections into a verdict) was created; revision 1.',
  schema: z.object({
    profileId: Id,
    name: ProfileName,
    description: z.string().max(2000),
    /** True for the profiles Chitti ships as examples: not the text of any standard. */
    sample: z.boolean(),
    rules: AcceptanceRules,
    createdBy: Actor,
  }),
});

export const AcceptanceProfileRevised = defineEvent({
  type: 'AcceptanceProfileRevised',
  description:
    'A profile got a new revision of its rules; verdicts recorded against earlier revisions stay as they were.',
  schema: z.object({
    profileId: Id,
    revision: z.number().int().min(2),
    rules: AcceptanceRules,
    note: z.string().max(2000).nullable(),
    revisedBy: Actor,
  }),
});

export const AcceptanceProfileRetired = defineEvent({
  type: 'AcceptanceProfileRetired',
  description: 'A profile may no longer be used for new evaluations; its recorded verdicts stand.',
  schema: z.object({ profileId: Id, reason: z.string().min(1).max(500), retiredBy: Actor }),
});
