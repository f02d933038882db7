import { describe, expect, it } from 'vitest';
import { spec } from '../../test/support/decider-spec.js';
import { DomainRuleViolation } from '../errors.js';
import { type AccessCommand, accessDecider } from './index.js';

const record = (decision: 'allowed' | 'denied', reason: string | null = null): AccessCommand => ({
  type: 'RecordAccess',
  actor: 'auditor-7',
  data: { action: 'audit.export', resource: 'events:1-500', decision, reason },
});

describe('access decider', () => {
  it('records every sensitive read with its actor', () => {
    spec(accessDecider)
      .given([])
      .when(record('allowed'))
      .then([
        {
          type: 'AccessRecorded',
          data: {
            actor: 'auditor-7',
            action: 'audit.export',
            resource: 'events:1-500',
            decision: 'allowed',
            reason: null,
          },
        },
      ]);
  });
  it('records repeated reads every time (an access log is never deduplicated by content)', () => {
    const earlier = accessDecider.decide(record('allowed'), accessDecider.initialState());
    spec(accessDecider)
      .given(earlier)
      .when(record('allowed'))
      .thenState((s) => expect(s).toEqual({ allowed: 2, denied: 0 }));
  });
  it('requires a reason for a denial', () => {
    spec(accessDecider).given([]).when(record('denied')).thenThrows(DomainRuleViolation, 'access.denial-needs-reason');
    spec(accessDecider)
      .given([])
      .when(record('denied', 'role auditor required'))
      .thenState((s) => expect(s.denied).toBe(1));
  });
});
