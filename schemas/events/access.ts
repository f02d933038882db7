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

/** The stream that records every seal key the sealer starts using (first use or rotation). */
export const SEAL_KEYS_STREAM = 'access-seal-keys';

export const SealKeyActivated = defineEvent({
  type: 'SealKeyActivated',
  description:
    'The sealer signs seals with this Ed25519 key from now on (first use or rotation). Public key only; older seals stay verifiable with the keys recorded before.',
  schema: z.object({
    keyId: z.string().regex(/^[0-9a-f]{16}$/),
    algorithm: z.literal('Ed25519'),
    publicKeyPem: z
      .string()
      .max(400)
      .regex(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n?$/),
  }),
});
