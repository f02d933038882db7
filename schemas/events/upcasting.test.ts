import { describe, expect, it } from 'vitest';
import { domainEventOfStored } from '../../commands/load-aggregate.js';
import { inspectionDecider } from '../../domain/inspection/index.js';
import type { InspectionEvent } from '../../domain/inspection/state.js';
import { InvalidEventPayloadError, type RecordedEvent, upcast, validateEventData } from './index.js';
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
        thresholds: { confidence: 0.25, iou: 0.7, maxDetections: 300 },
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
          thresholds: { confidence: 0.25, iou: 0.7, maxDetections: 300 },
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
    const v2 = domainEventOfStored(storedV1).data;
    expect(upcast('InspectionRequested', 2, v2)).toEqual({ type: 'InspectionRequested', data: v2 });
  });

  it('refuses a version with no upcaster', () => {
    expect(() => upcast('InspectionRequested', 0, v1Payload)).toThrow(InvalidEventPayloadError);
    expect(() => upcast('InspectionRequested', 0, v1Payload)).toThrow(/knows v1..v2/);
  });

  it('refuses reading an unknown version (older than v1 or newer than this release)', () => {
    for (const schemaVersion of [0, 3, 1.5]) {
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
    expect(() => upcast('InspectionRequested', 0, {})).toThrow(/knows v1..v2/);
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
    // v1 always letterboxed the whole image: no tiling.
    expect(event.data).toEqual({ ...v1, tiling: null });
    expect(event.data).not.toHaveProperty('pixelSpacingMm');
    expect(() => validateEventData('DetectionsRecorded', 2, event.data)).not.toThrow();
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
    expect(() => validateEventData('ModelRegistered', 2, { ...v1, tiling: { overlapPx: 64 } })).toThrow(
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
    expect(validateEventData('ModelRegistered', 2, event.data)).toEqual({ ...v1, tiling: null });
  });

  it('reads the v1 events recorded with thresholds before the bump as the v2 they are', () => {
    const thresholds = { confidence: 0.3, iou: 0.5, maxDetections: 100 };
    expect(upcast('ModelRegistered', 1, { ...v1, thresholds }).data).toEqual({ ...v1, thresholds, tiling: null });
  });
});
