import { expect } from 'vitest';
import type { Decider } from '../../domain/decider.js';
import { type ChittiEvent, currentVersionOf, validateEventData } from '../../schemas/events/index.js';

type ErrorClass<T extends Error> = abstract new (...args: never[]) => T;
type ErrorCheck<T> = string | ((error: T) => boolean);

export interface Then<S, E> {
  /** The decision is exactly these events (each also validated against its current schema). */
  then(expected: E[]): void;
  /** The command is already satisfied: no events. */
  thenNothing(): void;
  /** decide throws an instance of the class; a string checks its `code`, a function checks anything else. */
  thenThrows<T extends Error>(errorClass: ErrorClass<T>, check?: ErrorCheck<T>): void;
  thenThrows(predicate: (error: unknown) => boolean): void;
  /** The state after folding the given events and the decision. */
  thenState(check: (state: S) => void): void;
}

/**
 * Given/when/then for pure deciders: `spec(decider).given(events).when(command).then(events)`.
 * Every decision is also checked for determinism (deciding twice gives the same events), for
 * payloads that pass their event schemas, and for events that evolve without throwing.
 */
export function spec<C, S, E extends ChittiEvent>(decider: Decider<C, S, E>) {
  return {
    given(history: E[] = []) {
      return {
        when(command: C): Then<S, E> {
          const stateBefore = () => history.reduce(decider.evolve, decider.initialState());
          const decideChecked = (): E[] => {
            const first = decider.decide(command, stateBefore());
            expect(decider.decide(command, stateBefore()), 'decide must be deterministic').toEqual(first);
            for (const event of first) {
              expect(() => validateEventData(event.type, currentVersionOf(event.type), event.data)).not.toThrow();
            }
            first.reduce(decider.evolve, stateBefore());
            return first;
          };
          return {
            // biome-ignore lint/suspicious/noThenProperty: given/when/then vocabulary; this object is never awaited.
            then: (expected) => expect(decideChecked()).toEqual(expected),
            thenNothing: () => expect(decideChecked()).toEqual([]),
            thenThrows: (classOrPredicate: ErrorClass<Error> | ((error: unknown) => boolean), check?: unknown) => {
              let thrown: unknown;
              try {
                decider.decide(command, stateBefore());
              } catch (error) {
                thrown = error;
              }
              expect(thrown, 'expected decide to throw').toBeDefined();
              if (isErrorClass(classOrPredicate)) {
                expect(thrown).toBeInstanceOf(classOrPredicate);
                if (typeof check === 'string') expect((thrown as { code?: unknown }).code).toBe(check);
                if (typeof check === 'function') expect(check(thrown), String(thrown)).toBe(true);
              } else {
                expect(classOrPredicate(thrown), String(thrown)).toBe(true);
              }
            },
            thenState: (check) => check(decideChecked().reduce(decider.evolve, stateBefore())),
          } as Then<S, E>;
        },
      };
    },
  };
}

function isErrorClass(value: unknown): value is ErrorClass<Error> {
  return typeof value === 'function' && (value === Error || value.prototype instanceof Error);
}

/** A workflow in the decider style: the next step from the state, what was done so far and the latest outcome. */
export interface WorkflowUnderSpec<S, P, O, Step> {
  readonly initialState: () => S;
  readonly evolve: (state: S, event: never) => S;
  readonly initialProgress: () => P;
  readonly evolveProgress: (progress: P, outcome: O) => P;
  readonly next: (state: S, progress: P, latest: O) => Step;
}

/**
 * Given/when/then for workflows: `workflowSpec(w).given(events, earlierOutcomes).when(outcome).then(step)`.
 * The state is the fold of the stream's events; the progress the fold of the outcomes so far
 * (the latest included, as the runner does). Each decision is checked for determinism.
 */
export function workflowSpec<S, P, O, Step, E>(workflow: WorkflowUnderSpec<S, P, O, Step>) {
  return {
    given(history: E[] = [], earlier: O[] = []) {
      return {
        when(latest: O) {
          const decideOnce = (): Step => {
            const state = history.reduce((s, e) => workflow.evolve(s, e as never), workflow.initialState());
            const progress = [...earlier, latest].reduce(workflow.evolveProgress, workflow.initialProgress());
            return workflow.next(state, progress, latest);
          };
          const step = decideOnce();
          expect(decideOnce(), 'the workflow must be deterministic').toEqual(step);
          return {
            // biome-ignore lint/suspicious/noThenProperty: given/when/then vocabulary; this object is never awaited.
            then: (expected: Step) => expect(step).toEqual(expected),
            thenMatches: (expected: Partial<Step>) => expect(step).toMatchObject(expected as object),
          };
        },
      };
    },
  };
}
