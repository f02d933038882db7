import type { EventStore } from '../../commands/ports/event-store.js';
import type { NewEvent } from '../../schemas/events/index.js';

/** One append: events for one stream, in the order they must be written. */
export interface Append {
  readonly streamId: string;
  readonly events: NewEvent[];
}

const SHA = (n: number) => n.toString(16).padStart(64, '0');
const CLASSES = ['porosity', 'crack', 'slag', 'lack-of-fusion', 'undercut'];
const THRESHOLDS = { confidence: 0.25, iou: 0.7, maxDetections: 300 };
const TIMINGS = { queueMs: 3, preprocessMs: 4, inferenceMs: 20, postprocessMs: 1 };

/** Small deterministic PRNG (mulberry32) so every run writes the same history. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const event = (type: string, data: unknown, actor = 'alice', correlationId?: string): NewEvent => ({
  type,
  data,
  metadata: { actor, ...(correlationId ? { correlationId } : {}) },
});

function modelHistory(): Append[] {
  const registered = (version: string, n: number) =>
    event(
      'ModelRegistered',
      {
        name: 'weld',
        version,
        sha256: SHA(1000 + n),
        sizeBytes: 4_000_000,
        task: 'detect',
        format: 'onnx',
        outputLayout: 'yolo',
        classes: CLASSES,
        inputSize: { width: 640, height: 640 },
        metrics: { mAP50: 0.8 + n / 100 },
        description: `weld detector ${version}`,
        registeredBy: 'mlops',
      },
      'mlops',
    );
  return [
    {
      streamId: 'model-weld',
      events: [
        registered('1.0.0', 1),
        registered('1.1.0', 2),
        registered('2.0.0', 3),
        event(
          'ModelDeployed',
          {
            name: 'weld',
            version: '1.0.0',
            weights: { '1.0.0': 100 },
            canary: false,
            thresholds: THRESHOLDS,
            deployedBy: 'mlops',
          },
          'mlops',
        ),
        event('ShadowDeployed', { name: 'weld', version: '2.0.0', deployedBy: 'mlops' }, 'mlops'),
        event(
          'ModelDeployed',
          {
            name: 'weld',
            version: '1.1.0',
            weights: { '1.0.0': 90, '1.1.0': 10 },
            canary: true,
            thresholds: THRESHOLDS,
            deployedBy: 'mlops',
          },
          'mlops',
        ),
      ],
    },
  ];
}

function modelEnding(): Append {
  return {
    streamId: 'model-weld',
    events: [
      event(
        'TrafficShifted',
        { name: 'weld', weights: { '1.0.0': 50, '1.1.0': 50 }, reason: 'canary ok', shiftedBy: 'mlops' },
        'mlops',
      ),
      event(
        'ModelRolledBack',
        {
          name: 'weld',
          fromVersion: '1.1.0',
          toVersion: '1.0.0',
          weights: { '1.0.0': 100 },
          reason: 'regression',
          rolledBackBy: 'mlops',
        },
        'mlops',
      ),
      event('ModelRetired', { name: 'weld', version: '1.1.0', reason: 'regressed', retiredBy: 'mlops' }, 'mlops'),
      event('ShadowStopped', { name: 'weld', version: '2.0.0', stoppedBy: 'mlops' }, 'mlops'),
    ],
  };
}

interface Box {
  detectionId: string;
  classId: number;
  className: string;
  score: number;
  box: { x1: number; y1: number; x2: number; y2: number };
}

function boxes(random: () => number, count: number): Box[] {
  return Array.from({ length: count }, (_, i) => {
    const classId = Math.floor(random() * CLASSES.length);
    const x1 = Math.round(random() * 900);
    const y1 = Math.round(random() * 500);
    return {
      detectionId: `d${i}`,
      classId,
      className: CLASSES[classId]!,
      score: Math.round((0.3 + random() * 0.7) * 1000) / 1000,
      box: { x1, y1, x2: x1 + 20 + Math.round(random() * 80), y2: y1 + 20 + Math.round(random() * 80) },
    };
  });
}

/** The shadow sees roughly what live saw: boxes jittered, some dropped, sometimes one extra. */
function shadowOf(random: () => number, live: Box[]): Box[] {
  const kept = live
    .filter(() => random() > 0.2)
    .map((b) => ({
      ...b,
      box: { ...b.box, x1: b.box.x1 + Math.round(random() * 10), x2: b.box.x2 + Math.round(random() * 10) },
    }));
  const extra = random() < 0.3 ? boxes(random, 1) : [];
  return [...kept, ...extra].map((b, i) => ({ ...b, detectionId: `d${i}` }));
}

function detections(role: 'live' | 'shadow', version: string, inspectionId: string, found: Box[], sha: number) {
  return event(
    'DetectionsRecorded',
    {
      inspectionId,
      role,
      model: { name: 'weld', version, sha256: SHA(sha) },
      detections: found,
      image: { width: 1024, height: 640 },
      window: null,
      thresholds: THRESHOLDS,
      timings: TIMINGS,
      batchSize: 1,
      cached: false,
      tiling: null,
    },
    'processor',
  );
}

/**
 * A realistic, deterministic history: a model registry with canary, shadow, shift, rollback and
 * retirement; files uploaded, tagged, some deleted; inspections requested, run live and in shadow,
 * some failed, boxes reviewed (some twice), most closed; users and audited accesses.
 * Each inspection is written in several appends, interleaved with other streams.
 */
export function generateWorkload(options: { inspections: number; seed?: number }): Append[] {
  const random = prng(options.seed ?? 7);
  // phases[p][i]: what inspection i writes in phase p (upload+request, run, reviews+close, deletion).
  const phases: Append[][][] = [[], [], [], []];
  const put = (p: number, i: number, a: Append) => {
    const phase = phases[p]!;
    phase[i] = [...(phase[i] ?? []), a];
  };
  for (let i = 0; i < options.inspections; i++) {
    const fileId = `f${i}`;
    const inspectionId = `i${i}`;
    const correlation = `c${i}`;
    const canary = random() < 0.1;
    const version = canary ? '1.1.0' : '1.0.0';
    const fileEvents = [
      event(
        'FileUploaded',
        {
          fileId,
          sha256: SHA(i),
          sizeBytes: 10_000 + i,
          mediaType: 'image/png',
          width: 1024,
          height: 640,
          bitDepth: i % 3 === 0 ? 16 : 8,
          channels: 1,
          originalName: `weld-${i}.png`,
          uploadedBy: 'alice',
          tags: i % 2 === 0 ? ['line-a'] : [],
        },
        'alice',
        correlation,
      ),
    ];
    if (random() < 0.3) {
      fileEvents.push(
        event(
          'FileTagged',
          { fileId, added: ['urgent', 'weld'], removed: ['line-a'], taggedBy: 'bob' },
          'bob',
          correlation,
        ),
      );
    }
    put(0, i, { streamId: `file-${fileId}`, events: fileEvents });
    put(0, i, {
      streamId: `inspection-${inspectionId}`,
      events: [
        event(
          'InspectionRequested',
          {
            inspectionId,
            fileId,
            fileSha256: SHA(i),
            model: { name: 'weld', version, sha256: SHA(canary ? 1002 : 1001) },
            selection: { reason: 'traffic-split', roll: random(), weights: { '1.0.0': 90, '1.1.0': 10 } },
            shadows: [{ name: 'weld', version: '2.0.0', sha256: SHA(1003) }],
            thresholds: THRESHOLDS,
            requestedBy: 'alice',
          },
          'alice',
          correlation,
        ),
      ],
    });
    const run: NewEvent[] = [
      event('InferenceStarted', { inspectionId, attempt: 1, worker: 'w1' }, 'processor', correlation),
    ];
    const fails = random() < 0.05;
    const live = boxes(random, Math.floor(random() * 5));
    const shadowFirst = random() < 0.5;
    const shadow = detections('shadow', '2.0.0', inspectionId, shadowOf(random, live), 1003);
    if (fails) {
      run.push(
        event(
          'InspectionFailed',
          { inspectionId, code: 'corrupt-image', reason: 'truncated PNG', attempt: 1, final: true },
          'processor',
          correlation,
        ),
      );
    } else {
      if (shadowFirst) run.push(shadow);
      run.push(detections('live', version, inspectionId, live, canary ? 1002 : 1001));
      if (!shadowFirst) run.push(shadow);
    }
    put(1, i, { streamId: `inspection-${inspectionId}`, events: run });
    const later: NewEvent[] = [];
    if (!fails) {
      for (const box of live) {
        const r = random();
        if (r < 0.4) continue;
        const verdict = r < 0.7 ? 'confirmed' : r < 0.9 ? 'rejected' : 'relabelled';
        later.push(
          event(
            'DetectionReviewed',
            {
              inspectionId,
              detectionId: box.detectionId,
              verdict,
              newClassName: verdict === 'relabelled' ? 'crack' : null,
              comment: null,
              reviewer: 'rita',
            },
            'rita',
            correlation,
          ),
        );
        if (random() < 0.1) {
          later.push(
            event(
              'DetectionReviewed',
              {
                inspectionId,
                detectionId: box.detectionId,
                verdict: 'rejected',
                newClassName: null,
                comment: 'second look',
                reviewer: 'sam',
              },
              'sam',
              correlation,
            ),
          );
        }
      }
      if (random() < 0.8) {
        later.push(
          event(
            'InspectionClosed',
            { inspectionId, outcome: live.length > 0 ? 'rejected' : 'accepted', note: null, closedBy: 'rita' },
            'rita',
            correlation,
          ),
        );
      }
    }
    if (later.length > 0) put(2, i, { streamId: `inspection-${inspectionId}`, events: later });
    if (random() < 0.05) {
      put(3, i, {
        streamId: `file-${fileId}`,
        events: [
          event('FileDeleted', { fileId, sha256: SHA(i), reason: 'customer request', deletedBy: 'admin' }, 'admin'),
        ],
      });
    }
  }
  const users: Append = {
    streamId: 'user-u1',
    events: [
      event(
        'UserRegistered',
        { userId: 'u1', email: 'rita@example.com', displayName: 'Rita', registeredBy: 'admin' },
        'admin',
      ),
      event('RoleGranted', { userId: 'u1', role: 'reviewer', grantedBy: 'admin' }, 'admin'),
    ],
  };
  const access: Append = {
    streamId: 'access-2026-11-23',
    events: [
      event(
        'AccessRecorded',
        {
          actor: 'audrey',
          action: 'audit.export',
          resource: 'inspection-i0',
          decision: 'allowed',
          reason: null,
          count: 1,
          window: null,
        },
        'audrey',
      ),
    ],
  };
  // Interleave: inspection i's phase p is written in round i/step + p, among younger inspections' earlier phases.
  const out: Append[] = [...modelHistory(), users];
  const step = 7;
  const rounds = Math.ceil(options.inspections / step) + phases.length;
  for (let round = 0; round < rounds; round++) {
    for (let p = 0; p < phases.length; p++) {
      const from = (round - p) * step;
      if (from < 0) continue;
      for (let i = from; i < Math.min(from + step, options.inspections); i++) out.push(...(phases[p]![i] ?? []));
    }
  }
  out.push(modelEnding(), access);
  return out;
}

/** Appends in order; `concurrency` > 1 writes different streams in parallel while keeping each stream's order. */
export async function writeWorkload(store: EventStore, appends: readonly Append[], concurrency = 1): Promise<number> {
  let count = 0;
  if (concurrency <= 1) {
    for (const a of appends) {
      await store.append(a.streamId, a.events, { expectedVersion: 'any' });
      count += a.events.length;
    }
    return count;
  }
  // Per stream, a chain of appends; at most `concurrency` chains in flight.
  const byStream = new Map<string, Append[]>();
  for (const a of appends) byStream.set(a.streamId, [...(byStream.get(a.streamId) ?? []), a]);
  const chains = [...byStream.values()];
  let next = 0;
  const worker = async () => {
    while (next < chains.length) {
      const chain = chains[next++]!;
      for (const a of chain) {
        await store.append(a.streamId, a.events, { expectedVersion: 'any' });
        count += a.events.length;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return count;
}
