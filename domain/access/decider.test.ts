import { describe, expect, it } from 'vitest';
import { spec } from '../../test/support/decider-spec.js';
import { DomainRuleViolation } from '../errors.js';
import { type AccessCommand, accessDecider } from './index.js';

const record = (decision: 'allowed' | 'denied', reason: string | null = null): AccessCommand => ({
  type: 'RecordAccess',
  actor: 'auditor-7',
  data: { action: 'audit.export', resource: 'events:1-500', decision, reason, count: 1, window: null },
});

const window = { from: '2026-11-23T09:14:02.113Z', to: '2026-11-23T09:15:01.870Z' };
const coalesced = (decision: 'allowed' | 'denied', count: number, when: typeof window | null): AccessCommand => ({
  type: 'RecordAccess',
  actor: 'viewer-9',
  data: {
    action: 'events.tail',
    resource: 'GET /v1/events/stream',
    decision,
    reason: 'lacks events:stream',
    count,
    window: when,
  },
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
            count: 1,
            window: null,
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
  it('records coalesced denials as one event whose count the log totals', () => {
    spec(accessDecider)
      .given(accessDecider.decide(coalesced('denied', 1, null), accessDecider.initialState()))
      .when(coalesced('denied', 99, window))
      .then([
        {
          type: 'AccessRecorded',
          data: {
            actor: 'viewer-9',
            action: 'events.tail',
            resource: 'GET /v1/events/stream',
            decision: 'denied',
            reason: 'lacks events:stream',
            count: 99,
            window,
          },
        },
      ]);
    spec(accessDecider)
      .given([...accessDecider.decide(coalesced('denied', 1, null), accessDecider.initialState())])
      .when(coalesced('denied', 99, window))
      .thenState((s) => expect(s).toEqual({ allowed: 0, denied: 100 }));
  });
  it('coalesces only denials, and a count needs its window', () => {
    spec(accessDecider)
      .given([])
      .when({ ...coalesced('allowed', 3, window), data: { ...coalesced('allowed', 3, window).data, reason: null } })
      .thenThrows(DomainRuleViolation, 'access.only-denials-coalesce');
    spec(accessDecider)
      .given([])
      .when(coalesced('denied', 3, null))
      .thenThrows(DomainRuleViolation, 'access.count-needs-window');
  });
});
