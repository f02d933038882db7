import type { ModelRef, ModelSelection, Thresholds, ThresholdsOverride } from '../../schemas/events/index.js';
import { NotFound } from '../errors.js';
import { usableVersion } from './decide.js';
import type { ModelState } from './state.js';
import { checkClassConfidence, mergeThresholds, versionThresholds } from './thresholds.js';
import { chooseVersion } from './traffic-split.js';

export interface ModelSelectionRequest {
  readonly name: string;
  /** Pin a registered, non-retired version instead of following the traffic split. */
  readonly version?: string;
  /** Uniform draw in [0, 1) from the caller's random source. */
  readonly roll: number;
  /**
   * Overrides of the chosen version's deployed thresholds (merged as mergeThresholds says); a
   * per-class entry must name a class of the chosen version. The shadows run with the same
   * thresholds; an entry for a class a shadow lacks does not apply to it.
   */
  readonly thresholds?: ThresholdsOverride;
}

export interface SelectedModel {
  readonly model: ModelRef;
  readonly selection: ModelSelection;
  /** Every shadow except the chosen version, with its hash. */
  readonly shadows: ModelRef[];
  readonly thresholds: Thresholds;
}

/** Which model version serves one inspection, why, beside which shadows and with which thresholds. */
export function selectModel(state: ModelState, request: ModelSelectionRequest): SelectedModel {
  if (state.name === null) throw new NotFound('model', request.name);
  let chosen: string;
  let selection: ModelSelection;
  if (request.version !== undefined) {
    usableVersion(state, request.name, request.version);
    chosen = request.version;
    selection = { reason: 'explicit', roll: null, weights: { ...state.weights } };
  } else {
    const choice = chooseVersion(state.weights, request.roll);
    chosen = choice.version;
    selection = { reason: choice.reason, roll: choice.roll, weights: { ...choice.weights } };
  }
  const version = usableVersion(state, request.name, chosen);
  checkClassConfidence(request.name, chosen, version.registration.classes, request.thresholds);
  const ref = (v: string): ModelRef => ({
    name: request.name,
    version: v,
    sha256: state.versions[v]?.registration.sha256 ?? null,
  });
  return {
    model: ref(chosen),
    selection,
    shadows: state.shadows.filter((v) => v !== chosen && !state.versions[v]?.retired).map(ref),
    thresholds: mergeThresholds(versionThresholds(version), request.thresholds),
  };
}
