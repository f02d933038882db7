import type { Decider } from '../decider.js';
import type { UserCommand } from './commands.js';
import { decideUser } from './decide.js';
import { evolveUser, initialUserState, type UserEvent, type UserState } from './state.js';

export const userDecider: Decider<UserCommand, UserState, UserEvent> = {
  decide: decideUser,
  evolve: evolveUser,
  initialState: initialUserState,
};

export type * from './commands.js';
export { MAX_ACTIVE_API_KEYS } from './decide.js';
export type { ApiKeyState, UserEvent, UserState } from './state.js';
