import { z } from 'zod';
import { Actor } from './common.js';
import { defineEvent } from './define.js';

export const AccessRecorded = defineEvent({
  type: 'AccessRecorded',
  description:
    'A sensitive read (audit export, replay, verification, time travel) was allowed or denied: auditors are audited too.',
  schema: z.object({
    actor: Actor,
    action: z.enum(['audit.export', 'audit.verify', 'audit.replay', 'aggregate.as-of', 'events.tail']),
    resource: z.string().min(1).max(500),
    decision: z.enum(['allowed', 'denied']),
    reason: z.string().max(500).nullable(),
  }),
});
