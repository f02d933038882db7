import type { EventData, EventOfType, Thresholds } from '../../schemas/events/index.js';
import type { Weights } from './weights.js';

export type ModelEvent = EventOfType<
  | 'ModelRegistered'
  | 'ModelDeployed'
  | 'TrafficShifted'
  | 'ModelRolledBack'
  | 'ShadowDeployed'
  | 'ShadowStopped'
  | 'ModelRetired'
>;

export interface ModelVersionState {
  readonly registration: Omit<EventData<'ModelRegistered'>, 'name'>;
  readonly retired: boolean;
  /** Has taken live traffic at least once (a rollback target). */
  readonly everDeployed: boolean;
  /** Thresholds of its latest live deployment. */
  readonly thresholds: Thresholds | null;
}

export interface ModelState {
  /** null until the first version is registered. */
  readonly name: string | null;
  readonly versions: Readonly<Record<string, ModelVersionState>>;
  /** The live split; empty while nothing is deployed. */
  readonly weights: Weights;
  /** Versions running beside live traffic, in deployment order. */
  readonly shadows: readonly string[];
}

export const initialModelState = (): ModelState => ({ name: null, versions: {}, weights: {}, shadows: [] });

export function evolveModel(state: ModelState, event: ModelEvent): ModelState {
  switch (event.type) {
    case 'ModelRegistered': {
      const { name, ...registration } = event.data;
      return {
        ...state,
        name,
        versions: {
          ...state.versions,
          [registration.version]: { registration, retired: false, everDeployed: false, thresholds: null },
        },
      };
    }
    case 'ModelDeployed':
      return {
        ...updateVersion(state, event.data.version, { everDeployed: true, thresholds: event.data.thresholds }),
        weights: event.data.weights,
      };
    case 'TrafficShifted':
    case 'ModelRolledBack':
      return { ...state, weights: event.data.weights };
    case 'ShadowDeployed':
      return { ...state, shadows: [...state.shadows.filter((v) => v !== event.data.version), event.data.version] };
    case 'ShadowStopped':
      return { ...state, shadows: state.shadows.filter((v) => v !== event.data.version) };
    case 'ModelRetired':
      return updateVersion(state, event.data.version, { retired: true });
    default:
      return state;
  }
}

function updateVersion(state: ModelState, version: string, patch: Partial<ModelVersionState>): ModelState {
  const current = state.versions[version];
  if (!current) return state;
  return { ...state, versions: { ...state.versions, [version]: { ...current, ...patch } } };
}

export const weightOf = (state: ModelState, version: string): number => state.weights[version] ?? 0;
