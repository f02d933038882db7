import { describe, expect, it } from 'vitest';
import type { EventOfType } from '../schemas/events/index.js';
import { spec } from '../test/support/decider-spec.js';
import type { Command, Decider } from './decider.js';
import { DomainRuleViolation } from './errors.js';

// A toy decider to check that the specification helper catches what it promises to catch.
type Tag = EventOfType<'FileTagged'>;
type TagCommand = Command<'Tag', { tag: string; valid: boolean }>;
const toy = (decideImpl: (c: TagCommand, s: string[]) => Tag[]): Decider<TagCommand, string[], Tag> => ({
  decide: decideImpl,
  evolve: (state, event) => [...state, ...event.data.added],
  initialState: () => [],
});
const tagged = (tag: string): Tag => ({
  type: 'FileTagged',
  data: { fileId: 'f', added: [tag], removed: [], taggedBy: 'a' },
});
const honest = toy(({ data }, state) => {
  if (state.includes(data.tag)) return [];
  if (data.tag === 'bad') throw new DomainRuleViolation('toy.bad', 'bad');
  return [data.valid ? tagged(data.tag) : ({ ...tagged(data.tag), data: { fileId: 'f' } } as unknown as Tag)];
});
const when = (tag: string, valid = true): TagCommand => ({ type: 'Tag', data: { tag, valid }, actor: 'a' });

describe('decider spec helper', () => {
  it('passes a correct expectation and fails a wrong one', () => {
    spec(honest)
      .given([])
      .when(when('x'))
      .then([tagged('x')]);
    expect(() =>
      spec(honest)
        .given([])
        .when(when('x'))
        .then([tagged('y')]),
    ).toThrow();
    spec(honest)
      .given([tagged('x')])
      .when(when('x'))
      .thenNothing();
    expect(() => spec(honest).given([]).when(when('x')).thenNothing()).toThrow();
  });
  it('checks thrown error class, code and predicate', () => {
    spec(honest).given([]).when(when('bad')).thenThrows(DomainRuleViolation, 'toy.bad');
    spec(honest)
      .given([])
      .when(when('bad'))
      .thenThrows((e: unknown) => e instanceof Error && e.message === 'bad');
    expect(() => spec(honest).given([]).when(when('bad')).thenThrows(DomainRuleViolation, 'toy.other')).toThrow();
    expect(() => spec(honest).given([]).when(when('x')).thenThrows(DomainRuleViolation)).toThrow();
  });
  it('rejects events whose payload breaks the event schema', () => {
    expect(() => spec(honest).given([]).when(when('x', false)).thenNothing()).toThrow();
  });
  it('rejects a decider that is not deterministic', () => {
    let calls = 0;
    const flaky = toy(() => [tagged(`t${calls++}`)]);
    expect(() =>
      spec(flaky)
        .given([])
        .when(when('x'))
        .then([tagged('t0')]),
    ).toThrow(/deterministic/);
  });
});
