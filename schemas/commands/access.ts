import { z } from 'zod';
import { AccessRecorded } from '../events/access.js';

/** A sensitive read to put on the record; the actor comes from the authenticated caller. */
export const RecordAccess = AccessRecorded.schema.omit({ actor: true }).extend({
  reason: z.string().max(500).nullable().default(null),
  count: AccessRecorded.schema.shape.count.default(1),
  window: AccessRecorded.schema.shape.window.default(null),
});
export type RecordAccess = z.infer<typeof RecordAccess>;
