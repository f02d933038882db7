import type { ChittiEvent } from '../schemas/events/index.js';

/** A domain command: what is asked, by whom. Everything decide needs (time, ids, rolls) is in `data`. */
export interface Command<T extends string, D> {
  readonly type: T;
  readonly data: D;
  readonly actor: string;
}

/**
 * The pure heart of an aggregate. `decide` turns a command and the current state into the events
 * to record (an empty list when the command is already satisfied), or throws a DomainError;
 * `evolve` folds one recorded event into the state. Neither does I/O or reads clocks or randomness.
 */
export interface Decider<C, S, E extends ChittiEvent = ChittiEvent> {
  readonly decide: (command: C, state: S) => E[];
  readonly evolve: (state: S, event: E) => S;
  readonly initialState: () => S;
}

export type CommandOf<D> = D extends Decider<infer C, unknown, ChittiEvent> ? C : never;
export type StateOf<D> = D extends Decider<unknown, infer S, ChittiEvent> ? S : never;
export type EventOf<D> = D extends Decider<unknown, unknown, infer E> ? E : never;

export function fold<S, E extends ChittiEvent>(decider: Decider<never, S, E>, events: Iterable<E>): S {
  let state = decider.initialState();
  for (const event of events) state = decider.evolve(state, event);
  return state;
}
