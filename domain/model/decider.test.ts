import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../../schemas/events/index.js';
import { spec } from '../../test/support/decider-spec.js';
import { DomainConflict, DomainRuleViolation, NotFound } from '../errors.js';
import type { ModelCommand } from './commands.js';
import { type ModelEvent, modelDecider } from './index.js';

const name = 'weld-defects';
const sha = (c: string) => c.repeat(64);
const registered = (version: string, hash = sha('a'), thresholds?: Thresholds): ModelEvent => ({
  type: 'ModelRegistered',
  data: {
    name,
    version,
    sha256: hash,
    sizeBytes: 1234,
    task: 'detect',
    format: 'onnx',
    outputLayout: 'yolo',
    classes: ['crack', 'porosity'],
    inputSize: { width: 640, height: 640 },
    metrics: { mAP50: 0.71 },
    description: '',
    ...(thresholds ? { thresholds } : {}),
    tiling: null,
    registeredBy: 'ml',
  },
});
const measuredAt = { confidence: 0.25, iou: 0.45, maxDetections: 300, classConfidence: {} };
/** Per-class thresholds as an operator would ship them: the pores stricter, the cracks looser. */
const perClass = { ...measuredAt, classConfidence: { crack: 0.3, porosity: 0.65 } };
const deployed = (version: string, weights: Record<string, number>, canary = false, thresholds = DEFAULT_THRESHOLDS) =>
  ({
    type: 'ModelDeployed',
    data: { name, version, weights, canary, thresholds, deployedBy: 'ml' },
  }) as const satisfies ModelEvent;
const shadowed = (version: string): ModelEvent => ({
  type: 'ShadowDeployed',
  data: { name, version, deployedBy: 'ml' },
});
const retired = (version: string): ModelEvent => ({
  type: 'ModelRetired',
  data: { name, version, reason: null, retiredBy: 'ml' },
});
const cmd = <T extends ModelCommand['type']>(type: T, data: Extract<ModelCommand, { type: T }>['data']) =>
  ({ type, data, actor: 'ml' }) as Extract<ModelCommand, { type: T }>;
const deploy = (version: string, percent = 100, extra: object = {}) =>
  cmd('DeployModel', { name, version, percent, ...extra });

const model = spec(modelDecider);
const v1Live = [registered('v1'), deployed('v1', { v1: 100 })];

describe('model decider', () => {
  describe('RegisterModel', () => {
    const register = (version: string, hash: string, extra: object = {}) =>
      cmd('RegisterModel', {
        name,
        version,
        sha256: hash,
        sizeBytes: 1234,
        task: 'detect',
        format: 'onnx',
        outputLayout: 'yolo',
        classes: ['crack', 'porosity'],
        inputSize: { width: 640, height: 640 },
        metrics: { mAP50: 0.71 },
        description: '',
        ...extra,
      });
    it('registers a version', () => {
      model
        .given([])
        .when(register('v1', sha('a')))
        .then([registered('v1', sha('a'))]);
    });
    it('records the thresholds it is to be deployed with, unset fields at the global defaults', () => {
      model
        .given([])
        .when(register('v1', sha('a'), { thresholds: { iou: 0.45 } }))
        .then([registered('v1', sha('a'), { ...DEFAULT_THRESHOLDS, iou: 0.45 })]);
    });
    it('is a no-op for the same version and sha256', () => {
      model
        .given([registered('v1', sha('a'))])
        .when(register('v1', sha('a')))
        .thenNothing();
    });
    it('keeps the first registration when the same bytes come again with other thresholds (deploy to change them)', () => {
      model
        .given([registered('v1', sha('a'), measuredAt)])
        .when(register('v1', sha('a'), { thresholds: { iou: 0.6 } }))
        .thenNothing();
    });
    it('refuses the same version with another sha256', () => {
      model
        .given([registered('v1', sha('a'))])
        .when(register('v1', sha('c')))
        .thenThrows(DomainConflict, 'model.version-already-registered');
    });
    it('records the tiling large images are inspected with', () => {
      const tiling = { overlapPx: 128, mmPerInputPixel: 0.05, maxLetterboxShrink: 1.5 };
      const event = registered('v1', sha('a'));
      model
        .given([])
        .when(register('v1', sha('a'), { tiling }))
        .then([{ ...event, data: { ...event.data, tiling } } as ModelEvent]);
    });
    it('records per-class confidences with the thresholds, unset fields at the global defaults', () => {
      model
        .given([])
        .when(register('v1', sha('a'), { thresholds: { classConfidence: { crack: 0.3 } } }))
        .then([registered('v1', sha('a'), { ...DEFAULT_THRESHOLDS, classConfidence: { crack: 0.3 } })]);
    });
    it('refuses a per-class confidence for a class the model does not have', () => {
      model
        .given([])
        .when(register('v1', sha('a'), { thresholds: { classConfidence: { crack: 0.3, slag: 0.3 } } }))
        .thenThrows(
          DomainRuleViolation,
          (e) => e.code === 'model.unknown-class' && JSON.stringify(e.details.unknownClasses) === '["slag"]',
        );
    });
    it('refuses tiles overlapping by half the input or more (they would not advance)', () => {
      model
        .given([])
        .when(register('v1', sha('a'), { tiling: { overlapPx: 320, mmPerInputPixel: null, maxLetterboxShrink: 1 } }))
        .thenThrows(DomainRuleViolation, 'model.tiling-overlap-too-large');
    });
  });

  describe('DeployModel', () => {
    it('gives the first deployment 100% with default thresholds', () => {
      model
        .given([registered('v1')])
        .when(deploy('v1'))
        .then([deployed('v1', { v1: 100 })]);
    });
    it('refuses an unregistered version', () => {
      model
        .given([registered('v1')])
        .when(deploy('v9'))
        .thenThrows(NotFound, 'model-version.not-found');
    });
    it('refuses a retired version', () => {
      model
        .given([registered('v1'), retired('v1')])
        .when(deploy('v1'))
        .thenThrows(DomainRuleViolation, 'model.retired');
    });
    it('refuses a first deployment below 100% (weights must sum to 100)', () => {
      model
        .given([registered('v1')])
        .when(deploy('v1', 10))
        .thenThrows(DomainRuleViolation, 'model.weights-must-sum-to-100');
    });
    it('a 10% canary shifts the rest proportionally', () => {
      model
        .given([...v1Live, registered('v2')])
        .when(deploy('v2', 10))
        .then([deployed('v2', { v1: 90, v2: 10 }, true)]);
    });
    it('scales several live versions into the remainder', () => {
      model
        .given([...v1Live, registered('v2'), deployed('v2', { v1: 60, v2: 40 }), registered('v3')])
        .when(deploy('v3', 10))
        .then([deployed('v3', { v1: 54, v2: 36, v3: 10 }, true)]);
    });
    it('keeps the sum exactly 100 with awkward proportions', () => {
      const split = { v1: 33.33, v2: 33.33, v3: 33.34 };
      model
        .given([
          registered('v1'),
          registered('v2'),
          registered('v3'),
          registered('v4'),
          deployed('v1', { v1: 100 }),
          deployed('v2', { v1: 50, v2: 50 }),
          deployed('v3', split),
        ])
        .when(deploy('v4', 7.77))
        .thenState((s) => {
          const bp = Object.values(s.weights).map((p) => Math.round(p * 100));
          expect(bp.reduce((a, b) => a + b, 0)).toBe(10_000);
          expect(s.weights.v4).toBe(7.77);
          for (const p of Object.values(s.weights)) expect(Math.abs(p * 100 - Math.round(p * 100))).toBeLessThan(1e-9);
        });
    });
    it('records threshold overrides and reuses them on the next deployment', () => {
      const custom = { ...DEFAULT_THRESHOLDS, confidence: 0.4 };
      model
        .given([...v1Live, registered('v2')])
        .when(deploy('v1', 100, { thresholds: { confidence: 0.4 } }))
        .then([deployed('v1', { v1: 100 }, false, custom)]);
      model
        .given([...v1Live, deployed('v1', { v1: 100 }, false, custom), registered('v2'), deployed('v2', { v2: 100 })])
        .when(deploy('v1'))
        .then([deployed('v1', { v1: 100 }, false, custom)]);
    });
    it('deploys with the thresholds the version was registered with when the deployment names none', () => {
      model
        .given([registered('v1', sha('a'), measuredAt)])
        .when(deploy('v1'))
        .then([deployed('v1', { v1: 100 }, false, measuredAt)]);
      model
        .given([registered('v1', sha('a'), measuredAt)])
        .when(deploy('v1', 100, { thresholds: { confidence: 0.5 } }))
        .then([deployed('v1', { v1: 100 }, false, { ...measuredAt, confidence: 0.5 })]);
    });
    it('a later deployment of a version keeps its last deployed thresholds over its registered ones', () => {
      const chosen = { ...measuredAt, iou: 0.6 };
      model
        .given([registered('v1', sha('a'), measuredAt), deployed('v1', { v1: 100 }, false, chosen), registered('v2')])
        .when(deploy('v2'))
        .then([deployed('v2', { v2: 100 })]);
      model
        .given([
          registered('v1', sha('a'), measuredAt),
          deployed('v1', { v1: 100 }, false, chosen),
          registered('v2'),
          deployed('v2', { v2: 100 }),
        ])
        .when(deploy('v1'))
        .then([deployed('v1', { v1: 100 }, false, chosen)]);
    });
    it('is a no-op when the split and thresholds already hold', () => {
      model.given(v1Live).when(deploy('v1')).thenNothing();
    });
    it('deploys with the per-class confidences the version was registered with', () => {
      model
        .given([registered('v1', sha('a'), perClass)])
        .when(deploy('v1'))
        .then([deployed('v1', { v1: 100 }, false, perClass)]);
    });
    it('an override of only classConfidence keeps the other fields and replaces the whole map', () => {
      model
        .given([registered('v1', sha('a'), perClass)])
        .when(deploy('v1', 100, { thresholds: { classConfidence: { porosity: 0.7 } } }))
        .then([deployed('v1', { v1: 100 }, false, { ...measuredAt, classConfidence: { porosity: 0.7 } })]);
    });
    it('an override of only confidence keeps the per-class map', () => {
      model
        .given([registered('v1', sha('a'), perClass), deployed('v1', { v1: 100 }, false, perClass)])
        .when(deploy('v1', 100, { thresholds: { confidence: 0.5 } }))
        .then([deployed('v1', { v1: 100 }, false, { ...perClass, confidence: 0.5 })]);
    });
    it('an empty classConfidence clears the map: every class at confidence again', () => {
      model
        .given([registered('v1', sha('a'), perClass), deployed('v1', { v1: 100 }, false, perClass)])
        .when(deploy('v1', 100, { thresholds: { classConfidence: {} } }))
        .then([deployed('v1', { v1: 100 }, false, measuredAt)]);
    });
    it('a redeployment that changes only one class is recorded; the same map in another key order is a no-op', () => {
      const live = [registered('v1', sha('a'), perClass), deployed('v1', { v1: 100 }, false, perClass)];
      model
        .given(live)
        .when(deploy('v1', 100, { thresholds: { classConfidence: { crack: 0.3, porosity: 0.6 } } }))
        .then([deployed('v1', { v1: 100 }, false, { ...measuredAt, classConfidence: { crack: 0.3, porosity: 0.6 } })]);
      model
        .given(live)
        .when(deploy('v1', 100, { thresholds: { classConfidence: { porosity: 0.65, crack: 0.3 } } }))
        .thenNothing();
    });
    it('refuses a per-class confidence for a class the version does not have, and records nothing', () => {
      model
        .given(v1Live)
        .when(deploy('v1', 100, { thresholds: { classConfidence: { undercut: 0.5 } } }))
        .thenThrows(DomainRuleViolation, 'model.unknown-class');
    });
    it('promoting a shadow stops the shadow in the same decision', () => {
      model
        .given([...v1Live, registered('v2'), shadowed('v2')])
        .when(deploy('v2', 10))
        .then([
          { type: 'ShadowStopped', data: { name, version: 'v2', stoppedBy: 'ml' } },
          deployed('v2', { v1: 90, v2: 10 }, true),
        ]);
    });
  });

  describe('ShiftTraffic', () => {
    const canary = [...v1Live, registered('v2'), deployed('v2', { v1: 90, v2: 10 }, true)];
    const shift = (weights: Record<string, number>) => cmd('ShiftTraffic', { name, weights, reason: 'canary ok' });
    it('records the new split, dropping zero shares', () => {
      model
        .given(canary)
        .when(shift({ v1: 0, v2: 100 }))
        .then([{ type: 'TrafficShifted', data: { name, weights: { v2: 100 }, reason: 'canary ok', shiftedBy: 'ml' } }]);
    });
    it('refuses weights that do not sum to exactly 100', () => {
      model
        .given(canary)
        .when(shift({ v1: 50, v2: 49.99 }))
        .thenThrows(DomainRuleViolation, 'model.weights-must-sum-to-100');
    });
    it('refuses more than two decimals', () => {
      model
        .given(canary)
        .when(shift({ v1: 50.005, v2: 49.995 }))
        .thenThrows(DomainRuleViolation, 'model.invalid-weight');
    });
    it('refuses a version that was never deployed', () => {
      model
        .given([...canary, registered('v3')])
        .when(shift({ v1: 50, v3: 50 }))
        .thenThrows(DomainRuleViolation, 'model.not-deployed');
    });
    it('refuses a retired version', () => {
      model
        .given([...canary, deployed('v1', { v1: 100 }), retired('v2')])
        .when(shift({ v1: 50, v2: 50 }))
        .thenThrows(DomainRuleViolation, 'model.retired');
    });
    it('refuses an unknown version', () => {
      model
        .given(canary)
        .when(shift({ v1: 50, v7: 50 }))
        .thenThrows(NotFound);
    });
    it('is a no-op for the current split', () => {
      model
        .given(canary)
        .when(shift({ v2: 10, v1: 90 }))
        .thenNothing();
    });
  });

  describe('RollBackModel', () => {
    const rollback = (toVersion: string) => cmd('RollBackModel', { name, toVersion, reason: 'regression' });
    const v2Live = [...v1Live, registered('v2'), deployed('v2', { v2: 100 })];
    it('returns all traffic to a previously deployed version', () => {
      model
        .given(v2Live)
        .when(rollback('v1'))
        .then([
          {
            type: 'ModelRolledBack',
            data: {
              name,
              fromVersion: 'v2',
              toVersion: 'v1',
              weights: { v1: 100 },
              reason: 'regression',
              rolledBackBy: 'ml',
            },
          },
        ]);
    });
    it('names the largest other share as the version rolled back from', () => {
      model
        .given([...v2Live, registered('v3'), deployed('v3', { v2: 70, v3: 30 })])
        .when(rollback('v1'))
        .thenState((s) => expect(s.weights).toEqual({ v1: 100 }));
    });
    it('refuses a version that never took traffic', () => {
      model
        .given([...v1Live, registered('v2')])
        .when(rollback('v2'))
        .thenThrows(DomainRuleViolation, 'model.rollback-target-never-deployed');
    });
    it('refuses a retired version', () => {
      model
        .given([...v2Live, retired('v1')])
        .when(rollback('v1'))
        .thenThrows(DomainRuleViolation, 'model.retired');
    });
    it('is a no-op when the version already has all traffic', () => {
      model.given(v1Live).when(rollback('v1')).thenNothing();
    });
  });

  describe('RetireModel', () => {
    const retire = (version: string) => cmd('RetireModel', { name, version });
    it('retires a version without traffic', () => {
      model
        .given([...v1Live, registered('v2')])
        .when(retire('v2'))
        .then([retired('v2')]);
    });
    it('refuses a version with traffic', () => {
      model.given(v1Live).when(retire('v1')).thenThrows(DomainRuleViolation, 'model.has-traffic');
    });
    it('refuses a shadow', () => {
      model
        .given([...v1Live, registered('v2'), shadowed('v2')])
        .when(retire('v2'))
        .thenThrows(DomainRuleViolation, 'model.is-shadow');
    });
    it('is idempotent', () => {
      model
        .given([...v1Live, registered('v2'), retired('v2')])
        .when(retire('v2'))
        .thenNothing();
    });
  });

  describe('shadows', () => {
    const shadow = (version: string) => cmd('DeployShadow', { name, version });
    const stop = (version: string) => cmd('StopShadow', { name, version });
    it('deploys a shadow', () => {
      model
        .given([...v1Live, registered('v2')])
        .when(shadow('v2'))
        .then([shadowed('v2')]);
    });
    it('refuses a live version as shadow', () => {
      model.given(v1Live).when(shadow('v1')).thenThrows(DomainRuleViolation, 'model.shadow-is-live');
    });
    it('refuses a retired version as shadow', () => {
      model
        .given([...v1Live, registered('v2'), retired('v2')])
        .when(shadow('v2'))
        .thenThrows(DomainRuleViolation, 'model.retired');
    });
    it('caps the number of shadows', () => {
      const versions = ['s1', 's2', 's3', 's4', 's5'];
      model
        .given([...v1Live, ...versions.flatMap((v) => [registered(v), shadowed(v)]), registered('s6')])
        .when(shadow('s6'))
        .thenThrows(DomainRuleViolation, 'model.too-many-shadows');
    });
    it('deploying an existing shadow again is a no-op', () => {
      model
        .given([...v1Live, registered('v2'), shadowed('v2')])
        .when(shadow('v2'))
        .thenNothing();
    });
    it('stops a shadow, and stopping again is a no-op', () => {
      const stopped: ModelEvent = { type: 'ShadowStopped', data: { name, version: 'v2', stoppedBy: 'ml' } };
      model
        .given([...v1Live, registered('v2'), shadowed('v2')])
        .when(stop('v2'))
        .then([stopped]);
      model
        .given([...v1Live, registered('v2'), shadowed('v2'), stopped])
        .when(stop('v2'))
        .thenNothing();
    });
    it('refuses to shift live traffic to a shadow', () => {
      model
        .given([...v1Live, registered('v2'), deployed('v2', { v2: 100 }), deployed('v1', { v1: 100 }), shadowed('v2')])
        .when(cmd('ShiftTraffic', { name, weights: { v1: 50, v2: 50 } }))
        .thenThrows(DomainRuleViolation, 'model.is-shadow');
    });
  });
});
