import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainRuleViolation, NotFound } from '../domain/errors.js';
import { DEFAULT_THRESHOLDS } from '../schemas/events/index.js';
import type { CommandContext } from './context.js';
import type { CommandDeps } from './deps.js';
import { deleteFile, uploadFile } from './files.js';
import {
  closeInspection,
  failInspection,
  inspectionStreamId,
  loadInspection,
  recordDetections,
  requestInspection,
  reviewDetection,
  startInference,
} from './inspections.js';
import { deployModel, deployShadow, registerModel } from './models.js';
import { fileUpload, startTestStore, uniqueId } from './testing/postgres-store.js';

let env: Awaited<ReturnType<typeof startTestStore>>;
beforeAll(async () => {
  env = await startTestStore();
});
afterAll(async () => {
  await env.stop();
});

const operator: CommandContext = { actor: 'operator-1' };
const ml: CommandContext = { actor: 'ml-1' };
const processor: CommandContext = { actor: 'inference-worker-1', causationId: 'evt-requested' };
const sha = (c: string) => c.repeat(64);
const registration = (name: string, version: string, hash: string) => ({
  name,
  version,
  sha256: hash,
  sizeBytes: 4096,
  outputLayout: 'yolo' as const,
  classes: ['crack', 'porosity'],
  inputSize: { width: 320, height: 320 },
});

/** A model with v1 at 90% and a v2 canary at 10%, v3 as shadow, and an uploaded file. */
async function scenario(roll: number) {
  const deps: CommandDeps = { store: env.store, random: () => roll };
  const name = uniqueId('m').toLowerCase();
  const fileId = uniqueId('f');
  await registerModel(deps, registration(name, 'v1', sha('1')), ml);
  await registerModel(deps, registration(name, 'v2', sha('2')), ml);
  await registerModel(deps, registration(name, 'v3', sha('3')), ml);
  await deployModel(deps, { name, version: 'v1', thresholds: { confidence: 0.4 } }, ml);
  await deployModel(deps, { name, version: 'v2', percent: 10 }, ml);
  await deployShadow(deps, { name, version: 'v3' }, ml);
  await uploadFile(deps, fileUpload(fileId, sha('f')), operator);
  return { deps, name, fileId, inspectionId: uniqueId('i') };
}

const detectionsOf = (inspectionId: string, name: string, version: string, hash: string, role: 'live' | 'shadow') => ({
  inspectionId,
  role,
  model: { name, version, sha256: hash },
  detections: [{ detectionId: 'd0', classId: 0, className: 'crack', score: 0.91, box: { x1: 1, y1: 1, x2: 9, y2: 9 } }],
  image: { width: 640, height: 480 },
  window: null,
  tiling: null,
  thresholds: DEFAULT_THRESHOLDS,
  timings: { queueMs: 3, preprocessMs: 4, inferenceMs: 20, postprocessMs: 1 },
  batchSize: 1,
  cached: false,
});

describe('inspection handlers on the PostgreSQL event store', () => {
  it('chooses the version by the traffic split with the injected roll and records why', async () => {
    const s = await scenario(0.95);
    const result = await requestInspection(
      s.deps,
      { inspectionId: s.inspectionId, fileId: s.fileId, modelName: s.name },
      operator,
    );
    expect(result.events.map((e) => e.type)).toEqual(['InspectionRequested']);
    expect(result.events[0]!.data).toEqual({
      inspectionId: s.inspectionId,
      fileId: s.fileId,
      fileSha256: sha('f'),
      model: { name: s.name, version: 'v2', sha256: sha('2') },
      selection: { reason: 'traffic-split', roll: 0.95, weights: { v1: 90, v2: 10 } },
      shadows: [{ name: s.name, version: 'v3', sha256: sha('3') }],
      thresholds: DEFAULT_THRESHOLDS,
      requestedBy: 'operator-1',
    });

    const low = await scenario(0.2);
    const other = await requestInspection(
      low.deps,
      { inspectionId: low.inspectionId, fileId: low.fileId, modelName: low.name, thresholds: { iou: 0.5 } },
      operator,
    );
    expect(other.events[0]!.data).toMatchObject({
      model: { version: 'v1' },
      thresholds: { confidence: 0.4, iou: 0.5, maxDetections: 300 },
    });
  });

  it('honours a pinned version and ignores a repeated request', async () => {
    const s = await scenario(0.5);
    const input = { inspectionId: s.inspectionId, fileId: s.fileId, modelName: s.name, modelVersion: 'v3' };
    const first = await requestInspection(s.deps, input, operator);
    expect(first.events[0]!.data).toMatchObject({
      model: { version: 'v3' },
      selection: { reason: 'explicit', roll: null },
      shadows: [],
    });
    const again = await requestInspection(s.deps, input, operator);
    expect(again).toMatchObject({ events: [], nextExpectedVersion: 1, duplicate: false });
  });

  it('refuses a missing or deleted file, and a model that is not deployed', async () => {
    const s = await scenario(0.5);
    await expect(
      requestInspection(s.deps, { inspectionId: s.inspectionId, fileId: 'nope', modelName: s.name }, operator),
    ).rejects.toBeInstanceOf(NotFound);
    await deleteFile(s.deps, { fileId: s.fileId, reason: 'wrong upload' }, operator);
    await expect(
      requestInspection(s.deps, { inspectionId: s.inspectionId, fileId: s.fileId, modelName: s.name }, operator),
    ).rejects.toMatchObject({ code: 'file.deleted' });
    const fileId = uniqueId('f');
    await uploadFile(s.deps, fileUpload(fileId), operator);
    const unknownModel = uniqueId('m').toLowerCase();
    await expect(
      requestInspection(s.deps, { inspectionId: s.inspectionId, fileId, modelName: unknownModel }, operator),
    ).rejects.toMatchObject({ code: 'model.not-found' });
    await registerModel(s.deps, registration(unknownModel, 'v1', sha('9')), ml);
    await expect(
      requestInspection(s.deps, { inspectionId: s.inspectionId, fileId, modelName: unknownModel }, operator),
    ).rejects.toBeInstanceOf(DomainRuleViolation);
    expect(await env.store.readStream(inspectionStreamId(s.inspectionId))).toEqual([]);
  });

  it('runs the processor and reviewer flow; redeliveries record nothing; time travel shows the past', async () => {
    const s = await scenario(0.1);
    const id = s.inspectionId;
    await requestInspection(s.deps, { inspectionId: id, fileId: s.fileId, modelName: s.name }, operator);
    await startInference(s.deps, { inspectionId: id, attempt: 1, worker: 'w1' }, processor);
    // Kafka redelivers the request while attempt 1 runs: nothing is recorded.
    expect((await startInference(s.deps, { inspectionId: id, attempt: 1, worker: 'w2' }, processor)).events).toEqual(
      [],
    );
    const live = detectionsOf(id, s.name, 'v1', sha('1'), 'live');
    const recorded = await recordDetections(s.deps, live, processor);
    expect(recorded.events).toHaveLength(1);
    expect(recorded.events[0]!.metadata).toMatchObject({ actor: 'inference-worker-1', causationId: 'evt-requested' });

    // A redelivery after the result: starting is a typed conflict (the processor's cue to skip the model run),
    // and the same result again appends nothing.
    await expect(
      startInference(s.deps, { inspectionId: id, attempt: 1, worker: 'w2' }, processor),
    ).rejects.toMatchObject({ code: 'inspection.already-detected' });
    expect((await recordDetections(s.deps, live, processor)).events).toEqual([]);
    await recordDetections(s.deps, detectionsOf(id, s.name, 'v3', sha('3'), 'shadow'), processor);
    await expect(
      recordDetections(s.deps, detectionsOf(id, s.name, 'v2', sha('2'), 'shadow'), processor),
    ).rejects.toMatchObject({ code: 'inspection.not-a-shadow' });

    await reviewDetection(
      s.deps,
      { inspectionId: id, detectionId: 'd0', verdict: 'relabelled', newClassName: 'slag' },
      {
        actor: 'reviewer-1',
      },
    );
    const closeCtx = { actor: 'reviewer-1', idempotencyKey: `close-${id}` };
    const closed = await closeInspection(s.deps, { inspectionId: id, outcome: 'rejected' }, closeCtx);
    // A retried close (same key) gets the first answer, not "already closed"; a fresh one is a conflict.
    expect(await closeInspection(s.deps, { inspectionId: id, outcome: 'rejected' }, closeCtx)).toEqual({
      ...closed,
      duplicate: true,
    });
    await expect(
      closeInspection(s.deps, { inspectionId: id, outcome: 'rejected' }, { actor: 'reviewer-1' }),
    ).rejects.toMatchObject({ code: 'inspection.already-closed' });
    await expect(
      recordDetections(s.deps, detectionsOf(id, s.name, 'v3', sha('3'), 'shadow'), processor),
    ).rejects.toMatchObject({ code: 'inspection.closed' });

    const now = await loadInspection(s.deps, id);
    expect(now.state).toMatchObject({
      status: 'closed',
      reviews: { d0: { verdict: 'relabelled', newClassName: 'slag', reviewer: 'reviewer-1' } },
      shadowResults: [`${s.name}@v3`],
    });
    const past = await loadInspection(s.deps, id, { toGlobalPosition: recorded.events[0]!.globalPosition });
    expect(past).toMatchObject({ version: 3, state: { status: 'detected', reviews: {}, shadowResults: [] } });
  });

  it('a final failure ends the inspection; it closes only as inconclusive', async () => {
    const s = await scenario(0.1);
    const id = s.inspectionId;
    await requestInspection(s.deps, { inspectionId: id, fileId: s.fileId, modelName: s.name }, operator);
    const failure = {
      inspectionId: id,
      code: 'corrupt-image' as const,
      reason: 'truncated PNG',
      attempt: 1,
      final: true,
    };
    await failInspection(s.deps, failure, processor);
    expect((await failInspection(s.deps, failure, processor)).events).toEqual([]);
    await expect(
      recordDetections(s.deps, detectionsOf(id, s.name, 'v1', sha('1'), 'live'), processor),
    ).rejects.toMatchObject({ code: 'inspection.failed' });
    await expect(closeInspection(s.deps, { inspectionId: id, outcome: 'accepted' }, operator)).rejects.toMatchObject({
      code: 'inspection.failed-must-be-inconclusive',
    });
    const closed = await closeInspection(
      s.deps,
      { inspectionId: id, outcome: 'inconclusive', note: 'rescan' },
      operator,
    );
    expect(closed.events[0]!.data).toMatchObject({ outcome: 'inconclusive', note: 'rescan', closedBy: 'operator-1' });
  });
});
