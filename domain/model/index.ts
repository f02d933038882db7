import type { Decider } from '../decider.js';
import type { ModelCommand } from './commands.js';
import { decideModel } from './decide.js';
import { evolveModel, initialModelState, type ModelEvent, type ModelState } from './state.js';

export const modelDecider: Decider<ModelCommand, ModelState, ModelEvent> = {
  decide: decideModel,
  evolve: evolveModel,
  initialState: initialModelState,
};

export type * from './commands.js';
export { MAX_SHADOWS } from './decide.js';
export { type ModelSelectionRequest, type SelectedModel, selectModel } from './select-model.js';
export type { ModelEvent, ModelState, ModelVersionState } from './state.js';
export { chooseVersion, type VersionChoice } from './traffic-split.js';
export { normaliseSplit, splitWithShare, type Weights } from './weights.js';
