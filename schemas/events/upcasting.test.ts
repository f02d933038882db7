import { describe, expect, it } from 'vitest';
import { domainEventOfStored } from '../../commands/load-aggregate.js';
import { inspectionDecider } from '../../domain/inspection/index.js';
import type { InspectionEvent } from '../../domain/inspection/state.js';
import { InvalidEventPayloadError, type RecordedEvent, type Thresholds, upcast, validateEventData } from './index.js';
import { InspectionRequested } from './inspection.js';

const v1Payload = {
  inspectionId: 'i-legacy',
  fileId: 'f-legacy',
  modelName: 'weld-defects',
  modelVersion: '0.9.0',
  requestedBy: 'operator-3',
};
const storedV1: RecordedEvent = {
  globalPosition: 41,
  streamId: 'inspection-i-legacy',
  streamVersion: 1,
  eventId: '0190f3c2-0000-7000-8000-000000000001',
  type: 'InspectionRequested',
  schemaVersion: 1,
  data: v1Payload,
  metadata: { actor: 'operator-3' },
  recordedAt: new Date('2025-01-01T00:00:00Z'),
  hash: 'e'.repeat(64),
};

describe('InspectionRequested v1 -> v2 upcaster', () => {
  it('reads a stored v1 payload back in the v2 shape', () => {
    const event = domainEventOfStored(storedV1);
    expect(event).toEqual({
      type: 'InspectionRequested',
      data: {
        inspectionId: 'i-legacy',
        fileId: 'f-legacy',
        fileSha256: null,
        model: { name: 'weld-defects', version: '0.9.0', sha256: null },
        selection: { reason: 'explicit', roll: null, weights: { '0.9.0': 100 } },
        shadows: [],
        thresholds: { confidence: 0.25, iou: 0.7, maxDetections: 300, classConfidence: {} },
        requestedBy: 'operator-3',
      },
    });
    // The lifted payload is a valid current-version payload.
    expect(() => validateEventData('InspectionRequested', InspectionRequested.version, event.data)).not.toThrow();
  });

  it('the inspection decider folds the upcast event and keeps deciding on it', () => {
    const requested = domainEventOfStored(storedV1) as InspectionEvent;
    const state = inspectionDecider.evolve(inspectionDecider.initialState(), requested);
    expect(state).toMatchObject({ status: 'pending', request: { model: { version: '0.9.0', sha256: null } } });
    // A v1 request recorded no model hash, so a result from that version with any hash is accepted.
    const events = inspectionDecider.decide(
      {
        type: 'RecordDetections',
        actor: 'worker',
        data: {
          inspectionId: 'i-legacy',
          role: 'live',
          model: { name: 'weld-defects', version: '0.9.0', sha256: 'a'.repeat(64) },
          detections: [],
          image: { width: 10, height: 10 },
          window: null,
          tiling: null,
          thresholds: { confidence: 0.25, iou: 0.7, maxDetections: 300, classConfidence: {} },
          timings: { queueMs: 0, preprocessMs: 0, inferenceMs: 0, postprocessMs: 0 },
          batchSize: 1,
          cached: false,
        },
      },
      state,
    );
    expect(events.map((e) => e.type)).toEqual(['DetectionsRecorded']);
  });

  it('leaves a current-version payload as it is', () => {
    const v3 = domainEventOfStored(storedV1).data;
    expect(upcast('InspectionRequested', 3, v3)).toEqual({ type: 'InspectionRequested', data: v3 });
  });

  it('refuses a version with no upcaster', () => {
    expect(() => upcast('InspectionRequested', 0, v1Payload)).toThrow(InvalidEventPayloadError);
    expect(() => upcast('InspectionRequested', 0, v1Payload)).toThrow(/knows v1..v3/);
  });

  it('refuses reading an unknown version (older than v1 or newer than this release)', () => {
    for (const schemaVersion of [0, 4, 1.5]) {
      expect(() => domainEventOfStored({ ...storedV1, schemaVersion })).toThrow(InvalidEventPayloadError);
    }
    expect(() => domainEventOfStored({ ...storedV1, type: 'InspectionTeleported' })).toThrow(/unknown event type/);
  });

  it('refuses a v1 payload that was never valid v1', () => {
    expect(() => upcast('InspectionRequested', 1, { ...v1Payload, modelName: undefined })).toThrow();
  });

  it('refuses writing the old version', () => {
    expect(() => validateEventData('InspectionRequested', 1, v1Payload)).toThrow(InvalidEventPayloadError);
  });
});

describe('upcast guards the version range itself', () => {
  it('refuses a stored version newer than this release knows', () => {
    expect(() =>
      upcast('InspectionClosed', 2, { inspectionId: 'i1', outcome: 'accepted', note: null, closedBy: 'a' }),
    ).toThrow(/knows v1..v1/);
    expect(() => upcast('InspectionRequested', 0, {})).toThrow(/knows v1..v3/);
  });
});

describe('decodeStored: payloads read back from the store', () => {
  it('takes a current-version payload as the store validated it, and upcasts older ones', async () => {
    const { decodeStored } = await import('./registry.js');
    const closed = { inspectionId: 'i1', outcome: 'accepted', note: null, closedBy: 'a' };
    expect(decodeStored({ type: 'InspectionClosed', schemaVersion: 1, data: closed }).data).toBe(closed);
    const lifted = decodeStored({ type: 'InspectionRequested', schemaVersion: 1, data: v1Payload });
    expect(lifted.data).toMatchObject({ model: { name: v1Payload.modelName, sha256: null }, shadows: [] });
    expect(() => decodeStored({ type: 'InspectionTeleported', schemaVersion: 1, data: {} })).toThrow(
      /unknown event type/,
    );
  });
});

describe('AccessRecorded v1 -> v2 upcaster', () => {
  const v1Access = {
    actor: 'viewer-9',
    action: 'audit.export',
    resource: 'events?after=0',
    decision: 'denied',
    reason: 'lacks audit:read',
  };

  it('reads a stored v1 record as one read without a window, valid in v2', () => {
    const lifted = upcast('AccessRecorded', 1, v1Access);
    expect(lifted).toEqual({ type: 'AccessRecorded', data: { ...v1Access, count: 1, window: null } });
    expect(() => validateEventData('AccessRecorded', 2, lifted.data)).not.toThrow();
  });

  it('refuses writing v1, and a v1 payload that was never valid', () => {
    expect(() => validateEventData('AccessRecorded', 1, v1Access)).toThrow(InvalidEventPayloadError);
    expect(() => upcast('AccessRecorded', 1, { ...v1Access, decision: 'maybe' })).toThrow();
  });
});

describe('FileUploaded v1 -> v2 and DetectionsRecorded v1 -> v2 upcasters', () => {
  const fileV1 = {
    fileId: 'f-old',
    sha256: 'a'.repeat(64),
    sizeBytes: 10,
    mediaType: 'image/png',
    width: 4,
    height: 3,
    bitDepth: 8,
    channels: 1,
    originalName: 'old.png',
    uploadedBy: 'u',
    tags: [],
  };
  it('reads a v1 upload as a v2 one with no pixel spacing and no DICOM header (unknown, not guessed)', () => {
    const event = upcast('FileUploaded', 1, fileV1);
    expect(event.data).toEqual(fileV1);
    expect(event.data).not.toHaveProperty('pixelSpacingMm');
    expect(event.data).not.toHaveProperty('dicom');
    expect(() => validateEventData('FileUploaded', 2, event.data)).not.toThrow();
  });
  it('refuses a v1 upload that claims DICOM (v1 knew none) and refuses writing v1', () => {
    expect(() => upcast('FileUploaded', 1, { ...fileV1, mediaType: 'application/dicom' })).toThrow();
    expect(() => validateEventData('FileUploaded', 1, fileV1)).toThrow(InvalidEventPayloadError);
  });
  it('reads v1 detections with no sizes and no spacing', () => {
    const v1 = {
      inspectionId: 'i1',
      role: 'live',
      model: { name: 'weld-defects', version: '1.0.0', sha256: null },
      detections: [
        { detectionId: 'd0', classId: 0, className: 'crack', score: 0.5, box: { x1: 0, y1: 0, x2: 1, y2: 1 } },
      ],
      image: { width: 4, height: 3 },
      window: null,
      thresholds: { confidence: 0.25, iou: 0.7, maxDetections: 300 },
      timings: { queueMs: 0, preprocessMs: 0, inferenceMs: 0, postprocessMs: 0 },
      batchSize: 1,
      cached: false,
    };
    const event = upcast('DetectionsRecorded', 1, v1);
    // v1 always letterboxed the whole image: no tiling; and filtered every class at one confidence.
    expect(event.data).toEqual({ ...v1, thresholds: { ...v1.thresholds, classConfidence: {} }, tiling: null });
    expect(event.data).not.toHaveProperty('pixelSpacingMm');
    expect(() => validateEventData('DetectionsRecorded', 3, event.data)).not.toThrow();
    // A v1 payload never carried sizes: one that does is not v1.
    const sized = { ...v1, detections: [{ ...v1.detections[0], size: { lengthMm: 1, widthMm: 1, areaMm2: 1 } }] };
    expect((upcast('DetectionsRecorded', 1, sized).data as typeof v1).detections[0]).not.toHaveProperty('size');
  });
});

describe('tiling: ModelRegistered v1 -> v2 upcaster', () => {
  it('reads a v1 ModelRegistered as a version that letterboxes every image', () => {
    const v1 = {
      name: 'weld-defects',
      version: '1.0.0',
      sha256: 'b'.repeat(64),
      sizeBytes: 10,
      task: 'detect',
      format: 'onnx',
      outputLayout: 'yolo',
      classes: ['crack'],
      inputSize: { width: 320, height: 320 },
      metrics: {},
      description: '',
      registeredBy: 'ml',
    };
    const event = upcast('ModelRegistered', 1, v1);
    expect(event).toEqual({ type: 'ModelRegistered', data: { ...v1, tiling: null } });
    expect(() => validateEventData('ModelRegistered', 3, { ...v1, tiling: { overlapPx: 64 } })).toThrow(
      InvalidEventPayloadError,
    );
  });
});

describe('ModelRegistered v1 -> v2 (v2 added thresholds)', () => {
  const v1 = {
    name: 'weld-defects',
    version: '1.0.0',
    sha256: 'a'.repeat(64),
    sizeBytes: 10,
    task: 'detect',
    format: 'onnx',
    outputLayout: 'yolo',
    classes: ['crack'],
    inputSize: { width: 640, height: 640 },
    metrics: {},
    description: '',
    registeredBy: 'ml',
  };

  it('reads a released v1 payload (no thresholds) as v2 with the global defaults', () => {
    const event = upcast('ModelRegistered', 1, v1);
    expect(event.data).toEqual({ ...v1, tiling: null });
    expect(validateEventData('ModelRegistered', 3, event.data)).toEqual({ ...v1, tiling: null });
  });

  it('reads the v1 events recorded with thresholds before the bump as the v2 they are', () => {
    const thresholds = { confidence: 0.3, iou: 0.5, maxDetections: 100 };
    expect(upcast('ModelRegistered', 1, { ...v1, thresholds }).data).toEqual({
      ...v1,
      thresholds: { ...thresholds, classConfidence: {} },
      tiling: null,
    });
  });
});

describe('per-class confidence (issue 9): ModelRegistered v2 -> v3, ModelDeployed v1 -> v2, InspectionRequested v2 -> v3, DetectionsRecorded v2 -> v3', () => {
  const old = { confidence: 0.25, iou: 0.45, maxDetections: 300 };
  const lifted = { ...old, classConfidence: {} };
  const registeredV2 = {
    name: 'weld-defects',
    version: '2.1.0',
    sha256: 'a'.repeat(64),
    sizeBytes: 10,
    task: 'detect',
    format: 'onnx',
    outputLayout: 'yolo',
    classes: ['crack', 'porosity'],
    inputSize: { width: 320, height: 320 },
    metrics: {},
    description: '',
    thresholds: old,
    tiling: { overlapPx: 64, mmPerInputPixel: null, maxLetterboxShrink: 1.5 },
    registeredBy: 'ml',
  };
  const deployedV1 = {
    name: 'weld-defects',
    version: '2.1.0',
    weights: { '2.1.0': 100 },
    canary: false,
    thresholds: old,
    deployedBy: 'ml',
  };
  const requestedV2 = {
    inspectionId: 'i1',
    fileId: 'f1',
    fileSha256: null,
    model: { name: 'weld-defects', version: '2.1.0', sha256: 'a'.repeat(64) },
    selection: { reason: 'only-version', roll: null, weights: { '2.1.0': 100 } },
    shadows: [],
    thresholds: old,
    requestedBy: 'op',
  };
  const detectionsV2 = {
    inspectionId: 'i1',
    role: 'live',
    model: { name: 'weld-defects', version: '2.1.0', sha256: 'a'.repeat(64) },
    detections: [
      { detectionId: 'd0', classId: 0, className: 'crack', score: 0.5, box: { x1: 0, y1: 0, x2: 1, y2: 1 } },
    ],
    image: { width: 4, height: 3 },
    window: null,
    thresholds: old,
    timings: { queueMs: 0, preprocessMs: 0, inferenceMs: 0, postprocessMs: 0 },
    batchSize: 1,
    cached: false,
    tiling: null,
  };
  const cases = [
    ['ModelRegistered', 2, registeredV2],
    ['ModelDeployed', 1, deployedV1],
    ['InspectionRequested', 2, requestedV2],
    ['DetectionsRecorded', 2, detectionsV2],
  ] as const;

  it.each(cases)(
    'reads a stored %s v%d with one confidence for every class: an empty per-class map',
    (type, version, data) => {
      const event = upcast(type, version, data);
      expect(event.data).toEqual({ ...data, thresholds: lifted });
      expect(() => validateEventData(type, version + 1, event.data)).not.toThrow();
    },
  );

  it.each(cases)(
    'refuses writing %s v%d, and a v%d payload that already had per-class entries',
    (type, version, data) => {
      expect(() => validateEventData(type, version, data)).toThrow(InvalidEventPayloadError);
      // The old version's thresholds had no such field: it is not kept (the old schema does not know it).
      const sneaked = { ...data, thresholds: { ...old, classConfidence: { crack: 0.9 } } };
      expect((upcast(type, version, sneaked).data as { thresholds: unknown }).thresholds).toEqual(lifted);
    },
  );

  it('a ModelRegistered v2 without thresholds stays without them (the global defaults)', () => {
    const { thresholds: _none, ...bare } = registeredV2;
    const event = upcast('ModelRegistered', 2, bare);
    expect(event.data).toEqual(bare);
    expect(event.data).not.toHaveProperty('thresholds');
  });

  it('the current versions carry the map; bad maps are refused on write', () => {
    const perClass = { ...old, classConfidence: { crack: 0.3, porosity: 0.65, 'lack of fusion (root)': 0.5 } };
    expect(validateEventData('ModelDeployed', 2, { ...deployedV1, thresholds: perClass })).toEqual({
      ...deployedV1,
      thresholds: perClass,
    });
    // Left out by a producer that predates the map: written as no per-class entries.
    expect(validateEventData('DetectionsRecorded', 3, detectionsV2)).toEqual({ ...detectionsV2, thresholds: lifted });
    const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`c${i}`, 0.5]));
    for (const classConfidence of [
      { crack: -0.1 },
      { crack: 1.5 },
      { '': 0.5 },
      { 'cr\u0000ack': 0.5 },
      { ['c'.repeat(65)]: 0.5 },
      tooMany,
      [0.5],
      { crack: '0.5' },
    ]) {
      expect(() =>
        validateEventData('ModelDeployed', 2, { ...deployedV1, thresholds: { ...old, classConfidence } }),
      ).toThrow(InvalidEventPayloadError);
    }
    // A `__proto__` key is left out, never set as the map's prototype.
    const proto = JSON.parse('{"__proto__": {"crack": 0.1}, "porosity": 0.6}');
    const written = validateEventData('ModelDeployed', 2, {
      ...deployedV1,
      thresholds: { ...old, classConfidence: proto },
    });
    expect((written as { thresholds: Thresholds }).thresholds.classConfidence).toEqual({ porosity: 0.6 });
    expect(Object.getPrototypeOf((written as { thresholds: Thresholds }).thresholds.classConfidence)).toBe(
      Object.prototype,
    );
  });

  it('the model decider folds an upcast deployment and keeps deciding on it', async () => {
    const { modelDecider } = await import('../../domain/model/index.js');
    const events = [upcast('ModelRegistered', 2, registeredV2), upcast('ModelDeployed', 1, deployedV1)];
    const state = events.reduce(
      (s, e) => modelDecider.evolve(s, e as Parameters<typeof modelDecider.evolve>[1]),
      modelDecider.initialState(),
    );
    // The same thresholds again (an old deployment upcast): a retry, nothing to record.
    expect(
      modelDecider.decide(
        { type: 'DeployModel', actor: 'ml', data: { name: 'weld-defects', version: '2.1.0', percent: 100 } },
        state,
      ),
    ).toEqual([]);
    const [deployed] = modelDecider.decide(
      {
        type: 'DeployModel',
        actor: 'ml',
        data: { name: 'weld-defects', version: '2.1.0', percent: 100, thresholds: { classConfidence: { crack: 0.3 } } },
      },
      state,
    );
    expect(deployed?.data).toMatchObject({ thresholds: { ...old, classConfidence: { crack: 0.3 } } });
  });
});
