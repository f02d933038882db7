import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../schemas/events/index.js';
import { DomainRuleViolation, NotFound } from '../errors.js';
import { chooseVersion, type ModelEvent, modelDecider, selectModel } from './index.js';

describe('chooseVersion', () => {
  const weights = { v1: 90, v2: 10 };
  it.each([
    [0, 'v1'],
    [0.5, 'v1'],
    [0.8999, 'v1'],
    [0.9, 'v2'],
    [0.99999, 'v2'],
  ])('roll %d -> %s', (roll, version) => {
    expect(chooseVersion(weights, roll)).toEqual({ version, reason: 'traffic-split', roll, weights });
  });
  it('is independent of the order the weights are written in', () => {
    expect(chooseVersion({ v2: 10, v1: 90 }, 0.95).version).toBe('v2');
  });
  it('serves shares in proportion to the weights over a uniform grid of rolls', () => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < 10_000; i++) {
      const v = chooseVersion({ a: 12.5, b: 37.5, c: 50 }, i / 10_000).version;
      counts[v] = (counts[v] ?? 0) + 1;
    }
    expect(counts).toEqual({ a: 1250, b: 3750, c: 5000 });
  });
  it('reports the only live version without a roll', () => {
    expect(chooseVersion({ v3: 100 }, 0.42)).toEqual({
      version: 'v3',
      reason: 'only-version',
      roll: null,
      weights: { v3: 100 },
    });
  });
  it('refuses when nothing is deployed', () => {
    expect(() => chooseVersion({}, 0.1)).toThrow(DomainRuleViolation);
  });
  it.each([1, -0.1, Number.NaN])('refuses roll %d', (roll) => {
    expect(() => chooseVersion(weights, roll)).toThrow(RangeError);
  });
});

describe('selectModel', () => {
  const name = 'weld';
  const reg = (version: string, c: string): ModelEvent => ({
    type: 'ModelRegistered',
    data: {
      name,
      version,
      sha256: c.repeat(64),
      sizeBytes: 1,
      task: 'detect',
      format: 'onnx',
      outputLayout: 'yolo',
      classes: ['crack'],
      inputSize: { width: 640, height: 640 },
      metrics: {},
      description: '',
      tiling: null,
      registeredBy: 'ml',
    },
  });
  const history: ModelEvent[] = [
    reg('v1', 'a'),
    reg('v2', 'b'),
    reg('v3', 'c'),
    {
      type: 'ModelDeployed',
      data: {
        name,
        version: 'v1',
        weights: { v1: 100 },
        canary: false,
        thresholds: { ...DEFAULT_THRESHOLDS, confidence: 0.5 },
        deployedBy: 'ml',
      },
    },
    {
      type: 'ModelDeployed',
      data: {
        name,
        version: 'v2',
        weights: { v1: 80, v2: 20 },
        canary: true,
        thresholds: DEFAULT_THRESHOLDS,
        deployedBy: 'ml',
      },
    },
    { type: 'ShadowDeployed', data: { name, version: 'v3', deployedBy: 'ml' } },
  ];
  const state = history.reduce(modelDecider.evolve, modelDecider.initialState());

  it('follows the split and records why, with shadows and the version thresholds', () => {
    expect(selectModel(state, { name, roll: 0.1 })).toEqual({
      model: { name, version: 'v1', sha256: 'a'.repeat(64) },
      selection: { reason: 'traffic-split', roll: 0.1, weights: { v1: 80, v2: 20 } },
      shadows: [{ name, version: 'v3', sha256: 'c'.repeat(64) }],
      thresholds: { ...DEFAULT_THRESHOLDS, confidence: 0.5 },
    });
    expect(selectModel(state, { name, roll: 0.85 }).model.version).toBe('v2');
  });
  it('honours an explicit version and threshold overrides', () => {
    const selected = selectModel(state, { name, version: 'v3', roll: 0.1, thresholds: { iou: 0.5 } });
    expect(selected.model.version).toBe('v3');
    expect(selected.selection).toEqual({ reason: 'explicit', roll: null, weights: { v1: 80, v2: 20 } });
    expect(selected.shadows).toEqual([]);
    expect(selected.thresholds).toEqual({ ...DEFAULT_THRESHOLDS, iou: 0.5 });
  });
  it('serves a version never deployed (a shadow, or pinned) at the thresholds it was registered with', () => {
    const measuredAt = { confidence: 0.3, iou: 0.45, maxDetections: 100, classConfidence: { crack: 0.4 } };
    const base = reg('v4', 'd');
    const v4 = { ...base, data: { ...base.data, thresholds: measuredAt } } as ModelEvent;
    const withV4 = modelDecider.evolve(state, v4);
    expect(selectModel(withV4, { name, version: 'v4', roll: 0 }).thresholds).toEqual(measuredAt);
    expect(selectModel(withV4, { name, version: 'v4', roll: 0, thresholds: { iou: 0.6 } }).thresholds).toEqual({
      ...measuredAt,
      iou: 0.6,
    });
  });
  it("a request's classConfidence replaces the version's map and may name only the chosen version's classes", () => {
    const overridden = selectModel(state, {
      name,
      version: 'v1',
      roll: 0,
      thresholds: { classConfidence: { crack: 0.2 } },
    });
    expect(overridden.thresholds).toEqual({ ...DEFAULT_THRESHOLDS, confidence: 0.5, classConfidence: { crack: 0.2 } });
    expect(() =>
      selectModel(state, { name, version: 'v1', roll: 0, thresholds: { classConfidence: { slag: 0.2 } } }),
    ).toThrow(expect.objectContaining({ code: 'model.unknown-class' }));
  });
  it('refuses an unknown model or version', () => {
    expect(() => selectModel(modelDecider.initialState(), { name: 'nope', roll: 0 })).toThrow(NotFound);
    expect(() => selectModel(state, { name, version: 'v9', roll: 0 })).toThrow(NotFound);
  });
});
