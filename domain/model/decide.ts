import { DEFAULT_THRESHOLDS } from '../../schemas/events/index.js';
import { DomainConflict, DomainRuleViolation, NotFound } from '../errors.js';
import type {
  DeployModelCommand,
  DeployShadowCommand,
  ModelCommand,
  RegisterModelCommand,
  RetireModelCommand,
  RollBackModelCommand,
  ShiftTrafficCommand,
  StopShadowCommand,
} from './commands.js';
import { type ModelEvent, type ModelState, type ModelVersionState, weightOf } from './state.js';
import { checkClassConfidence, mergeThresholds, sameThresholds, versionThresholds } from './thresholds.js';
import { byVersion, normaliseSplit, sameWeights, splitWithShare } from './weights.js';

/** Shadows recorded per inspection are capped by the InspectionRequested schema. */
export const MAX_SHADOWS = 5;

export function decideModel(command: ModelCommand, state: ModelState): ModelEvent[] {
  switch (command.type) {
    case 'RegisterModel':
      return register(command, state);
    case 'DeployModel':
      return deploy(command, state);
    case 'ShiftTraffic':
      return shift(command, state);
    case 'RollBackModel':
      return rollBack(command, state);
    case 'RetireModel':
      return retire(command, state);
    case 'DeployShadow':
      return deployShadow(command, state);
    case 'StopShadow':
      return stopShadow(command, state);
  }
}

function register({ data, actor }: RegisterModelCommand, state: ModelState): ModelEvent[] {
  const existing = state.versions[data.version];
  if (existing) {
    if (existing.registration.sha256 === data.sha256) return [];
    throw new DomainConflict(
      'model.version-already-registered',
      `${data.name}@${data.version} is already registered with another sha256; register a new version`,
      { name: data.name, version: data.version, sha256: existing.registration.sha256 },
    );
  }
  const { thresholds, tiling, ...registration } = data;
  // Tiles overlapping by half their size or more would not advance.
  if (tiling && 2 * tiling.overlapPx >= Math.min(data.inputSize.width, data.inputSize.height)) {
    throw new DomainRuleViolation(
      'model.tiling-overlap-too-large',
      `tile overlap ${tiling.overlapPx} px must be less than half the ${data.inputSize.width}×${data.inputSize.height} input`,
      { overlapPx: tiling.overlapPx, inputSize: data.inputSize },
    );
  }
  checkClassConfidence(data.name, data.version, data.classes, thresholds);
  return [
    {
      type: 'ModelRegistered',
      data: {
        ...registration,
        ...(thresholds ? { thresholds: mergeThresholds(DEFAULT_THRESHOLDS, thresholds) } : {}),
        tiling: tiling ?? null,
        registeredBy: actor,
      },
    },
  ];
}

function deploy({ data, actor }: DeployModelCommand, state: ModelState): ModelEvent[] {
  const version = usableVersion(state, data.name, data.version);
  checkClassConfidence(data.name, data.version, version.registration.classes, data.thresholds);
  const weights = splitWithShare(state.weights, data.version, data.percent);
  const thresholds = mergeThresholds(versionThresholds(version), data.thresholds);
  const isShadow = state.shadows.includes(data.version);
  // Deploying again with the same split and thresholds (a retry) is already satisfied.
  const unchanged =
    !isShadow &&
    sameWeights(weights, state.weights) &&
    version.thresholds !== null &&
    sameThresholds(thresholds, version.thresholds);
  if (unchanged) return [];
  return [
    ...stopShadowFirst(state, data.name, data.version, actor),
    {
      type: 'ModelDeployed',
      data: {
        name: data.name,
        version: data.version,
        weights,
        canary: data.canary ?? data.percent < 100,
        thresholds,
        deployedBy: actor,
      },
    },
  ];
}

function shift({ data, actor }: ShiftTrafficCommand, state: ModelState): ModelEvent[] {
  const weights = normaliseSplit(data.weights);
  for (const version of Object.keys(weights)) {
    const v = usableVersion(state, data.name, version);
    if (!v.everDeployed) {
      throw new DomainRuleViolation(
        'model.not-deployed',
        `${data.name}@${version} has never been deployed; deploy it (e.g. as a canary) first`,
        { name: data.name, version },
      );
    }
    if (state.shadows.includes(version)) throw shadowIsNotLive(data.name, version);
  }
  if (sameWeights(weights, state.weights)) return [];
  return [
    { type: 'TrafficShifted', data: { name: data.name, weights, reason: data.reason ?? null, shiftedBy: actor } },
  ];
}

function rollBack({ data, actor }: RollBackModelCommand, state: ModelState): ModelEvent[] {
  const target = usableVersion(state, data.name, data.toVersion);
  if (!target.everDeployed) {
    throw new DomainRuleViolation(
      'model.rollback-target-never-deployed',
      `${data.name}@${data.toVersion} never took traffic; a rollback returns to a previously deployed version`,
      { name: data.name, version: data.toVersion },
    );
  }
  const from = Object.entries(state.weights)
    .filter(([v, p]) => v !== data.toVersion && p > 0)
    .sort(([va, a], [vb, b]) => b - a || byVersion(va, vb))[0]?.[0];
  if (from === undefined) {
    if (weightOf(state, data.toVersion) === 100) return [];
    throw new DomainRuleViolation('model.not-deployed', `${data.name} has no live traffic to roll back`, {
      name: data.name,
    });
  }
  return [
    ...stopShadowFirst(state, data.name, data.toVersion, actor),
    {
      type: 'ModelRolledBack',
      data: {
        name: data.name,
        fromVersion: from,
        toVersion: data.toVersion,
        weights: { [data.toVersion]: 100 },
        reason: data.reason,
        rolledBackBy: actor,
      },
    },
  ];
}

function retire({ data, actor }: RetireModelCommand, state: ModelState): ModelEvent[] {
  const version = registeredVersion(state, data.name, data.version);
  if (version.retired) return [];
  if (weightOf(state, data.version) > 0) {
    throw new DomainRuleViolation(
      'model.has-traffic',
      `${data.name}@${data.version} takes ${weightOf(state, data.version)}% of traffic; shift it away first`,
      { name: data.name, version: data.version },
    );
  }
  if (state.shadows.includes(data.version)) {
    throw new DomainRuleViolation('model.is-shadow', `${data.name}@${data.version} runs as a shadow; stop it first`, {
      name: data.name,
      version: data.version,
    });
  }
  return [
    {
      type: 'ModelRetired',
      data: { name: data.name, version: data.version, reason: data.reason ?? null, retiredBy: actor },
    },
  ];
}

function deployShadow({ data, actor }: DeployShadowCommand, state: ModelState): ModelEvent[] {
  usableVersion(state, data.name, data.version);
  if (state.shadows.includes(data.version)) return [];
  if (weightOf(state, data.version) > 0) {
    throw new DomainRuleViolation(
      'model.shadow-is-live',
      `${data.name}@${data.version} takes live traffic; it cannot also be a shadow`,
      { name: data.name, version: data.version },
    );
  }
  if (state.shadows.length >= MAX_SHADOWS) {
    throw new DomainRuleViolation('model.too-many-shadows', `at most ${MAX_SHADOWS} shadows per model`, {
      name: data.name,
    });
  }
  return [{ type: 'ShadowDeployed', data: { name: data.name, version: data.version, deployedBy: actor } }];
}

function stopShadow({ data, actor }: StopShadowCommand, state: ModelState): ModelEvent[] {
  registeredVersion(state, data.name, data.version);
  if (!state.shadows.includes(data.version)) return [];
  return [{ type: 'ShadowStopped', data: { name: data.name, version: data.version, stoppedBy: actor } }];
}

/** Promoting a shadow to live traffic stops it as a shadow in the same decision. */
function stopShadowFirst(state: ModelState, name: string, version: string, actor: string): ModelEvent[] {
  return state.shadows.includes(version) ? [{ type: 'ShadowStopped', data: { name, version, stoppedBy: actor } }] : [];
}

export function registeredVersion(state: ModelState, name: string, version: string): ModelVersionState {
  const found = state.versions[version];
  if (!found) throw new NotFound('model-version', `${name}@${version}`);
  return found;
}

/** Registered and not retired: may take traffic. */
export function usableVersion(state: ModelState, name: string, version: string): ModelVersionState {
  const found = registeredVersion(state, name, version);
  if (found.retired) {
    throw new DomainRuleViolation('model.retired', `${name}@${version} is retired and may never take traffic again`, {
      name,
      version,
    });
  }
  return found;
}

const shadowIsNotLive = (name: string, version: string) =>
  new DomainRuleViolation('model.is-shadow', `${name}@${version} runs as a shadow; deploy it to give it live traffic`, {
    name,
    version,
  });
