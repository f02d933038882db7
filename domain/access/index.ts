import type { RecordAccess } from '../../schemas/commands/access.js';
import type { EventOfType } from '../../schemas/events/index.js';
import type { Command, Decider } from '../decider.js';
import { DomainRuleViolation } from '../errors.js';

export type RecordAccessCommand = Command<'RecordAccess', RecordAccess>;
export type AccessCommand = RecordAccessCommand;
export type AccessEvent = EventOfType<'AccessRecorded'>;

/** One access log per day: append-only, so its only state is how many reads it records. */
export interface AccessLogState {
  readonly allowed: number;
  readonly denied: number;
}

export function decideAccess({ data, actor }: AccessCommand, _state: AccessLogState): AccessEvent[] {
  if (data.decision === 'denied' && (data.reason ?? '').trim() === '') {
    throw new DomainRuleViolation('access.denial-needs-reason', 'a denied access must say why', {
      action: data.action,
    });
  }
  // Only refusals are coalesced (an allowed read is always its own record), and a count says when.
  if (data.decision === 'allowed' && (data.count !== 1 || data.window !== null)) {
    throw new DomainRuleViolation('access.only-denials-coalesce', 'only denials are recorded with a count', {
      action: data.action,
    });
  }
  if (data.count > 1 && data.window === null) {
    throw new DomainRuleViolation('access.count-needs-window', 'a coalesced record must say when it happened', {
      action: data.action,
    });
  }
  return [{ type: 'AccessRecorded', data: { ...data, actor } }];
}

export function evolveAccess(state: AccessLogState, event: AccessEvent): AccessLogState {
  if (event.type !== 'AccessRecorded') return state;
  return event.data.decision === 'allowed'
    ? { ...state, allowed: state.allowed + 1 }
    : { ...state, denied: state.denied + event.data.count };
}

export const accessDecider: Decider<AccessCommand, AccessLogState, AccessEvent> = {
  decide: decideAccess,
  evolve: evolveAccess,
  initialState: () => ({ allowed: 0, denied: 0 }),
};
