import { z } from 'zod';
import { Actor } from './common.js';
import { defineEvent } from './define.js';

const AccessRecordedV1 = z.object({
  actor: Actor,
  action: z.enum(['audit.export', 'audit.verify', 'audit.replay', 'aggregate.as-of', 'events.tail']),
  resource: z.string().min(1).max(500),
  decision: z.enum(['allowed', 'denied']),
  reason: z.string().max(500).nullable(),
});

export const AccessRecorded = defineEvent({
  type: 'AccessRecorded',
  version: 2,
  description:
    'A sensitive read (audit export, replay, verification, time travel) was allowed or denied: auditors are audited too. ' +
    'Repeated denials of one actor on one route are coalesced: the first is recorded at once, the rest of its minute as one event with their count.',
  schema: AccessRecordedV1.extend({
    /** How many reads this record stands for: 1, or the denials coalesced within `window`. */
    count: z.number().int().min(1).max(1_000_000_000),
    /** When the first and the last coalesced denial happened; null for a single read. */
    window: z.object({ from: z.string().datetime(), to: z.string().datetime() }).nullable(),
  }),
  upcasters: {
    // v1 recorded every read as its own event.
    1: (v1) => ({ ...AccessRecordedV1.parse(v1), count: 1, window: null }),
  },
});
export { AccessRecordedV1 };

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
