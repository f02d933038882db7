import type { Decider } from '../decider.js';
import type { InspectionCommand } from './commands.js';
import { decideInspection } from './decide.js';
import { evolveInspection, type InspectionEvent, type InspectionState, initialInspectionState } from './state.js';

export const inspectionDecider: Decider<InspectionCommand, InspectionState, InspectionEvent> = {
  decide: decideInspection,
  evolve: evolveInspection,
  initialState: initialInspectionState,
};

export type * from './commands.js';
export { requireInspectableFile } from './decide.js';
export { boxSizeMm, measureDetections } from './physical-size.js';
export type { InspectionEvent, InspectionState, InspectionStatus, Review } from './state.js';
export { isShadowSettled, modelKey } from './state.js';
