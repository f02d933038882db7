import type { EventData, EventType } from '../events/index.js';

const SHA_MODEL = '3f2a9c0e5b7d4e1f8a6c2b9d0e4f7a1c5b8d2e6f9a0c3b7d1e4f8a2c6b9d0e3f';
const SHA_SHADOW = '7c4e0a9f2b6d1e8c3a5f9b0d4e7a2c6f1b8d3e9a0c5f7b2d4e6a1c8f3b9d0e5a';
const SHA_FILE = '9b1d5e2f7a3c8d0e6b4f1a9c2d7e5b3f8a0c6d1e4b9f2a7c5d3e8b0f6a1c4d9e';
const MODEL = { name: 'weld-defects', version: '2.1.0', sha256: SHA_MODEL };
const THRESHOLDS = { confidence: 0.25, iou: 0.7, maxDetections: 300, classConfidence: { crack: 0.3, porosity: 0.65 } };

export interface EventExample<T extends EventType> {
  readonly streamId: string;
  readonly data: EventData<T>;
}

/** One realistic payload per event type: documentation, and what the topic schema test relays for real. */
export const eventExamples: { readonly [T in EventType]: EventExample<T> } = {
  FileUploaded: {
    streamId: 'file-01JDX8K4Q2',
    data: {
      fileId: '01JDX8K4Q2',
      sha256: SHA_FILE,
      sizeBytes: 6_292_186,
      mediaType: 'application/dicom',
      width: 2048,
      height: 1536,
      bitDepth: 16,
      channels: 1,
      originalName: 'pipe-weld-0042.dcm',
      uploadedBy: 'user-7',
      tags: ['line-3', 'weld'],
      pixelSpacingMm: { row: 0.2, column: 0.2 },
      dicom: {
        sopInstanceUid: '1.2.826.0.1.3680043.8.498.10200311',
        sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1',
        transferSyntaxUid: '1.2.840.10008.1.2.1',
        modality: 'DX',
        manufacturer: 'Panel Co',
        manufacturerModelName: 'FP-2020',
        acquired: { at: '2026-11-20T09:14:03', source: 'AcquisitionDate' },
        rows: 1536,
        columns: 2048,
        bitsAllocated: 16,
        bitsStored: 16,
        signed: false,
        photometricInterpretation: 'MONOCHROME2',
        presentationLutShape: 'IDENTITY',
        rescale: { slope: 1, intercept: 0 },
        voiWindow: { center: 32768, width: 65536, used: false },
        pixelSpacingTag: 'ImagerPixelSpacing',
        component: { id: 'PIPE-7-W42', name: 'Pipe 7 weld 42' },
      },
    },
  },
  FileTagged: {
    streamId: 'file-01JDX8K4Q2',
    data: { fileId: '01JDX8K4Q2', added: ['rework'], removed: ['line-3'], taggedBy: 'user-7' },
  },
  FileDeleted: {
    streamId: 'file-01JDX8K4Q2',
    data: { fileId: '01JDX8K4Q2', sha256: SHA_FILE, reason: 'uploaded by mistake', deletedBy: 'user-1' },
  },
  InspectionRequested: {
    streamId: 'inspection-01JDX8M7VB',
    data: {
      inspectionId: '01JDX8M7VB',
      fileId: '01JDX8K4Q2',
      fileSha256: SHA_FILE,
      model: MODEL,
      selection: { reason: 'traffic-split', roll: 0.4172, weights: { '2.0.0': 90, '2.1.0': 10 } },
      shadows: [],
      thresholds: THRESHOLDS,
      requestedBy: 'user-7',
    },
  },
  InferenceStarted: {
    streamId: 'inspection-01JDX8M7VB',
    data: { inspectionId: '01JDX8M7VB', attempt: 1, worker: 'inference-2' },
  },
  DetectionsRecorded: {
    streamId: 'inspection-01JDX8M7VB',
    data: {
      inspectionId: '01JDX8M7VB',
      role: 'live',
      model: MODEL,
      detections: [
        {
          detectionId: 'd0',
          classId: 1,
          className: 'porosity',
          score: 0.91,
          box: { x1: 412, y1: 96, x2: 451, y2: 133 },
          size: { lengthMm: 7.8, widthMm: 7.4, areaMm2: 57.72 },
        },
        {
          detectionId: 'd1',
          classId: 0,
          className: 'crack',
          score: 0.47,
          box: { x1: 1020, y1: 700, x2: 1290, y2: 731 },
          size: { lengthMm: 54, widthMm: 6.2, areaMm2: 334.8 },
        },
      ],
      pixelSpacingMm: { row: 0.2, column: 0.2 },
      image: { width: 2048, height: 1536 },
      window: { low: 8123, high: 51234 },
      tiling: {
        tileSize: { width: 640, height: 640 },
        overlapPx: 64,
        scale: 1,
        grid: { columns: 4, rows: 3 },
        tiles: 12,
      },
      thresholds: THRESHOLDS,
      timings: { queueMs: 12, preprocessMs: 31.5, inferenceMs: 88.2, postprocessMs: 2.4 },
      batchSize: 4,
      cached: false,
    },
  },
  InspectionFailed: {
    streamId: 'inspection-01JDX8M7VB',
    data: {
      inspectionId: '01JDX8M7VB',
      code: 'corrupt-image',
      reason: 'PNG IDAT chunk is truncated',
      attempt: 1,
      final: true,
    },
  },
  ShadowInferenceFailed: {
    streamId: 'inspection-01JDX8M7VB',
    data: {
      inspectionId: '01JDX8M7VB',
      model: { name: 'weld-defects', version: '2.2.0', sha256: SHA_SHADOW },
      code: 'timeout',
      reason: 'inference took longer than 30000 ms',
    },
  },
  DetectionReviewed: {
    streamId: 'inspection-01JDX8M7VB',
    data: {
      inspectionId: '01JDX8M7VB',
      detectionId: 'd1',
      verdict: 'relabelled',
      newClassName: 'lack-of-fusion',
      comment: 'linear indication along the fusion line',
      reviewer: 'user-12',
    },
  },
  InspectionClosed: {
    streamId: 'inspection-01JDX8M7VB',
    data: { inspectionId: '01JDX8M7VB', outcome: 'rejected', note: 'repair and re-shoot', closedBy: 'user-12' },
  },
  InspectionEvaluated: {
    streamId: 'inspection-01JDX8M7VB',
    data: {
      inspectionId: '01JDX8M7VB',
      profile: { profileId: 'sample-weld-level-2', name: 'Sample weld acceptance', revision: 2 },
      verdict: 'reject',
      pixelSpacingMm: { row: 0.2, column: 0.2 },
      image: { width: 2048, height: 1536 },
      detections: [
        {
          detectionId: 'd0',
          className: 'porosity',
          review: 'confirmed',
          measurement: { widthPx: 20, heightPx: 18, sizeMm: 4, lengthMm: 5.381, areaPercent: 0.008989 },
        },
      ],
      excluded: ['d1'],
      rules: [
        {
          ruleId: 'largest-pore',
          kind: 'max-size',
          classes: ['porosity'],
          description: 'Largest single pore diameter ≤ 3 mm.',
          outcome: 'fail',
          measured: 4,
          limit: 3,
          unit: 'mm',
          detectionIds: ['d0'],
          worst: 'd0',
        },
      ],
      evaluatedBy: 'user-12',
    },
  },
  ReportIssued: {
    streamId: 'inspection-01JDX8M7VB',
    data: {
      inspectionId: '01JDX8M7VB',
      reportSha256: SHA_FILE.split('').reverse().join(''),
      sizeBytes: 182_331,
      format: 'pdf',
      asOf: '2026-11-23T10:00:00.000Z',
      shadow: false,
      covers: { streamVersion: 6, globalPosition: 1042, eventHash: SHA_SHADOW },
      issuedBy: 'user-30',
    },
  },
  AcceptanceProfileCreated: {
    streamId: 'acceptance-profile-sample-weld-level-2',
    data: {
      profileId: 'sample-weld-level-2',
      name: 'Sample weld acceptance',
      description: 'Illustrative limits, not the text of a standard.',
      sample: true,
      rules: [
        { id: 'no-cracks', kind: 'not-permitted', classes: ['crack'], description: 'Cracks are not permitted.' },
        { id: 'largest-pore', kind: 'max-size', classes: ['porosity'], maxMm: 3, description: 'Largest pore ≤ 3 mm.' },
      ],
      createdBy: 'user-1',
    },
  },
  AcceptanceProfileRevised: {
    streamId: 'acceptance-profile-sample-weld-level-2',
    data: {
      profileId: 'sample-weld-level-2',
      revision: 2,
      rules: [
        {
          id: 'largest-pore',
          kind: 'max-size',
          classes: ['porosity'],
          maxMm: 2.5,
          description: 'Largest pore ≤ 2.5 mm.',
        },
      ],
      note: 'tighter pore limit for line 3',
      revisedBy: 'user-1',
    },
  },
  AcceptanceProfileRetired: {
    streamId: 'acceptance-profile-sample-weld-level-2',
    data: { profileId: 'sample-weld-level-2', reason: 'replaced by the customer profile', retiredBy: 'user-1' },
  },
  ModelRegistered: {
    streamId: 'model-weld-defects',
    data: {
      name: 'weld-defects',
      version: '2.1.0',
      sha256: SHA_MODEL,
      sizeBytes: 12_345_678,
      task: 'detect',
      format: 'onnx',
      outputLayout: 'yolo',
      classes: ['crack', 'porosity', 'lack-of-fusion'],
      inputSize: { width: 640, height: 640 },
      metrics: { mAP50: 0.81, 'mAP50-95': 0.56 },
      description: 'YOLO detector for radiographic weld defects',
      thresholds: THRESHOLDS,
      tiling: { overlapPx: 64, mmPerInputPixel: 0.1, maxLetterboxShrink: 1.5 },
      registeredBy: 'ml-3',
    },
  },
  ModelDeployed: {
    streamId: 'model-weld-defects',
    data: {
      name: 'weld-defects',
      version: '2.1.0',
      weights: { '2.0.0': 90, '2.1.0': 10 },
      canary: true,
      thresholds: THRESHOLDS,
      deployedBy: 'ml-3',
    },
  },
  TrafficShifted: {
    streamId: 'model-weld-defects',
    data: { name: 'weld-defects', weights: { '2.0.0': 50, '2.1.0': 50 }, reason: 'canary healthy', shiftedBy: 'ml-3' },
  },
  ModelRolledBack: {
    streamId: 'model-weld-defects',
    data: {
      name: 'weld-defects',
      fromVersion: '2.1.0',
      toVersion: '2.0.0',
      weights: { '2.0.0': 100 },
      reason: 'false positives on line 3',
      rolledBackBy: 'ml-3',
    },
  },
  ShadowDeployed: {
    streamId: 'model-weld-defects',
    data: { name: 'weld-defects', version: '2.2.0-rc1', deployedBy: 'ml-3' },
  },
  ShadowStopped: {
    streamId: 'model-weld-defects',
    data: { name: 'weld-defects', version: '2.2.0-rc1', stoppedBy: 'ml-3' },
  },
  ModelRetired: {
    streamId: 'model-weld-defects',
    data: { name: 'weld-defects', version: '1.4.0', reason: 'superseded', retiredBy: 'ml-3' },
  },
  UserRegistered: {
    streamId: 'user-12',
    data: { userId: '12', email: 'reviewer@example.com', displayName: 'R. Eviewer', registeredBy: 'user-1' },
  },
  RoleGranted: { streamId: 'user-12', data: { userId: '12', role: 'reviewer', grantedBy: 'user-1' } },
  RoleRevoked: { streamId: 'user-12', data: { userId: '12', role: 'operator', revokedBy: 'user-1' } },
  ApiKeyIssued: {
    streamId: 'user-12',
    data: {
      userId: '12',
      keyId: 'key-4',
      secretSha256: 'e'.repeat(64),
      label: 'line-3 scanner',
      expiresAt: '2027-06-30T00:00:00Z',
      issuedBy: 'user-1',
    },
  },
  ApiKeyRevoked: { streamId: 'user-12', data: { userId: '12', keyId: 'key-4', revokedBy: 'user-1' } },
  AccessRecorded: {
    streamId: 'access-2026-11-23',
    data: {
      actor: 'viewer-9',
      action: 'aggregate.as-of',
      resource: 'GET /v1/files/:fileId',
      decision: 'denied',
      reason: 'lacks history:as-of',
      count: 41,
      window: { from: '2026-11-23T09:14:02.113Z', to: '2026-11-23T09:15:01.870Z' },
    },
  },
  SealKeyActivated: {
    streamId: 'access-seal-keys',
    data: {
      keyId: '6b0f2d6c5e1f9a47',
      algorithm: 'Ed25519',
      publicKeyPem:
        '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n',
    },
  },
};
