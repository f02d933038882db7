import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Registry } from 'prom-client';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployModel, deployShadow, registerModel, requestInspection, uploadFile } from '../../commands/index.js';
import { countingStore } from '../../commands/testing/counting-store.js';
import { Detector } from '../../inference/detector.js';
import { EmbeddedInspectionSource } from '../../inference/embedded-source.js';
import { ImagePool } from '../../inference/image-pool.js';
import { InferenceMetrics } from '../../inference/metrics.js';
import { ModelStore, modelRegisteredData } from '../../inference/model-store.js';
import { type InspectionRequest, inspectionRequestFrom } from '../../inference/ports/request-source.js';
import { type CachedPrediction, InspectionProcessor } from '../../inference/processor.js';
import { SessionPool } from '../../inference/session-pool.js';
import { FsBlobStore } from '../../infra/blob/fs-blob-store.js';
import { LruPredictionCache } from '../../infra/memory-cache/lru-prediction-cache.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import type { EventData, ModelRef, RecordedEvent } from '../../schemas/events/index.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';
import { brightBoundsDetector, syntheticDetector, syntheticNmsDetector } from './support/onnx-builder.js';
import { pngClaiming } from './support/poison.js';

const ctx = { actor: 'tester' };
const thresholds = { confidence: 0.25, iou: 0.7, maxDetections: 300, classConfidence: {} };

/** 128×96 grey radiograph-ish image (value 51) with a white 16×16 square at x 32..48, y 16..32. */
async function plantedDefect(format: 'png' | 'tiff' = 'png', background = 51): Promise<Buffer> {
  const pixels = Buffer.alloc(128 * 96, background);
  for (let y = 16; y < 32; y++) pixels.fill(255, y * 128 + 32, y * 128 + 48);
  const image = sharp(pixels, { raw: { width: 128, height: 96, channels: 1 } }).toColourspace('b-w');
  return (format === 'png' ? image.png() : image.tiff({ compression: 'lzw' })).toBuffer();
}

describe('InspectionProcessor on the PostgreSQL event store', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let store: PostgresEventStore;
  let root: string;
  let blobs: FsBlobStore;
  let sessions: SessionPool;
  let images: ImagePool;
  let detector: Detector;
  let processor: InspectionProcessor;
  let live: { name: string; version: string; sha256: string };
  const registry = new Registry();
  let shadow: { name: string; version: string; sha256: string };

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 8 });
    await migrate(pool);
    store = new PostgresEventStore(pool, { safetyPollMs: 200 });
    root = await mkdtemp(join(tmpdir(), 'chitti-processor-'));
    blobs = new FsBlobStore(root);
    sessions = new SessionPool();
    const models = new ModelStore(blobs, { pool: sessions });
    images = new ImagePool();
    detector = new Detector(sessions, images, (sha) => models.bytes(sha), { maxBatch: 4, maxWaitMs: 2 });
    processor = new InspectionProcessor(
      {
        store,
        blobs,
        detector,
        cache: new LruPredictionCache<CachedPrediction>(),
        metrics: new InferenceMetrics(registry),
        sleep: async () => {},
      },
      { worker: 'test-worker', maxAttempts: 3 },
    );
    // Live: stride 8 at 64×64; shadow: the same head at stride 16.
    for (const [version, stride] of [
      ['1.0.0', 8],
      ['2.0.0-rc1', 16],
    ] as const) {
      const inspection = await models.register(syntheticDetector({ imgsz: 64, stride }));
      await registerModel(
        { store },
        modelRegisteredData(inspection, { name: 'weld-synth', version, registeredBy: 'tester' }),
        ctx,
      );
    }
    await deployModel({ store }, { name: 'weld-synth', version: '1.0.0' }, ctx);
    await deployShadow({ store }, { name: 'weld-synth', version: '2.0.0-rc1' }, ctx);
    const registered = (await store.readStream('model-weld-synth')).filter((e) => e.type === 'ModelRegistered');
    const ref = (e: RecordedEvent) => {
      const d = e.data as EventData<'ModelRegistered'>;
      return { name: d.name, version: d.version, sha256: d.sha256 };
    };
    live = ref(registered[0]!);
    shadow = ref(registered[1]!);
  });

  afterAll(async () => {
    await processor?.stop();
    await detector?.close();
    await sessions?.close();
    await images?.close();
    await pool?.end();
    await db?.drop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function upload(bytes: Buffer): Promise<string> {
    const { sha256, sizeBytes } = await blobs.put(bytes);
    const meta = await sharp(bytes).metadata();
    const fileId = `f-${randomUUID()}`;
    await uploadFile(
      { store },
      {
        fileId,
        sha256,
        sizeBytes,
        mediaType: meta.format === 'tiff' ? 'image/tiff' : 'image/png',
        width: meta.width,
        height: meta.height,
        bitDepth: 8,
        channels: meta.channels,
        originalName: 'weld.png',
      },
      ctx,
    );
    return fileId;
  }

  async function request(fileId: string): Promise<InspectionRequest> {
    const inspectionId = `i-${randomUUID()}`;
    const result = await requestInspection({ store }, { inspectionId, fileId, modelName: 'weld-synth' }, ctx);
    return inspectionRequestFrom(result.events[0]!)!;
  }

  /** An InspectionRequested appended directly, for images the upload validation would refuse. */
  async function rawRequest(bytes: Buffer, model = live, shadows: ModelRef[] = []): Promise<InspectionRequest> {
    const { sha256 } = await blobs.put(bytes);
    const inspectionId = `i-${randomUUID()}`;
    const data: EventData<'InspectionRequested'> = {
      inspectionId,
      fileId: `f-${randomUUID()}`,
      fileSha256: sha256,
      model,
      selection: { reason: 'explicit', roll: null, weights: { [model.version]: 100 } },
      shadows,
      thresholds,
      requestedBy: 'tester',
    };
    await store.append(`inspection-${inspectionId}`, [{ type: 'InspectionRequested', data, metadata: ctx }], {
      expectedVersion: 'no_stream',
    });
    const [event] = await store.readStream(`inspection-${inspectionId}`);
    return inspectionRequestFrom(event!)!;
  }

  const streamOf = (request: InspectionRequest) => store.readStream(`inspection-${request.data.inspectionId}`);

  it('finds a planted defect, records live and shadow results, and a redelivery appends nothing', async () => {
    const req = await request(await upload(await plantedDefect()));
    const [outcome] = await processor.handle([req]);
    expect(outcome).toEqual({
      inspectionId: req.data.inspectionId,
      status: 'recorded',
      cached: false,
      shadows: { recorded: ['weld-synth@2.0.0-rc1'], failed: [] },
    });
    const events = await streamOf(req);
    expect(events.map((e) => e.type)).toEqual([
      'InspectionRequested',
      'InferenceStarted',
      'DetectionsRecorded',
      'DetectionsRecorded',
    ]);
    expect(events[1]!.data).toEqual({ inspectionId: req.data.inspectionId, attempt: 1, worker: 'test-worker' });
    expect(events[1]!.metadata).toMatchObject({ actor: 'inference', causationId: req.eventId });
    const liveResult = events[2]!.data as EventData<'DetectionsRecorded'>;
    expect(liveResult).toMatchObject({
      role: 'live',
      model: live,
      image: { width: 128, height: 96 },
      window: null,
      thresholds,
      cached: false,
    });
    // r = 0.5, pad top 8: the square lands exactly on the stride-8 cell (2, 2) and maps back exactly.
    expect(liveResult.detections).toHaveLength(1);
    expect(liveResult.detections[0]).toMatchObject({
      detectionId: 'd0',
      classId: 0,
      className: 'bright',
      box: { x1: 32, y1: 16, x2: 48, y2: 32 },
    });
    expect(liveResult.detections[0]!.score).toBeGreaterThan(0.99);
    expect(liveResult.batchSize).toBeGreaterThanOrEqual(1);
    expect(liveResult.timings.inferenceMs).toBeGreaterThan(0);
    const shadowResult = events[3]!.data as EventData<'DetectionsRecorded'>;
    expect(shadowResult).toMatchObject({ role: 'shadow', model: shadow });

    expect(await processor.handle([req, req])).toEqual([
      { inspectionId: req.data.inspectionId, status: 'already-done' },
      { inspectionId: req.data.inspectionId, status: 'already-done' },
    ]);
    expect(await streamOf(req)).toHaveLength(4);

    const metric = async (name: string) => (await registry.getSingleMetric(name)!.get()).values;
    expect(await metric('chitti_inference_requests_total')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ labels: { status: 'recorded' }, value: 1 }),
        expect.objectContaining({ labels: { status: 'already-done' }, value: 2 }),
      ]),
    );
    const exposition = await registry.metrics();
    expect(exposition).toContain('chitti_inference_batch_size_count{model="weld-synth@1.0.0"} 1');
    expect(exposition).toContain('chitti_inference_stage_seconds_count{model="weld-synth@1.0.0",stage="compute"} 1');
  });

  it('records a failing shadow once as ShadowInferenceFailed and leaves the live result alone', async () => {
    const missing = { name: 'weld-synth', version: '3.0.0', sha256: 'e'.repeat(64) };
    const req = await rawRequest(await plantedDefect(), live, [missing, shadow]);
    const [outcome] = await processor.handle([req]);
    expect(outcome).toMatchObject({
      status: 'recorded',
      shadows: { recorded: ['weld-synth@2.0.0-rc1'], failed: ['weld-synth@3.0.0'] },
    });
    const events = await streamOf(req);
    expect(events.map((e) => e.type)).toEqual([
      'InspectionRequested',
      'InferenceStarted',
      'DetectionsRecorded',
      'ShadowInferenceFailed',
      'DetectionsRecorded',
    ]);
    expect(events[3]!.data).toMatchObject({
      inspectionId: req.data.inspectionId,
      model: missing,
      code: 'model-unavailable',
    });
    expect((events[3]!.data as EventData<'ShadowInferenceFailed'>).reason).toMatch(/3\.0\.0|e{64}/);
    // The failed shadow is settled: a redelivery neither retries it nor appends anything.
    expect(await processor.handle([req])).toEqual([{ inspectionId: req.data.inspectionId, status: 'already-done' }]);
    expect(await streamOf(req)).toHaveLength(5);
  });

  it('records each result once when the same request is delivered twice at the same time', async () => {
    const req = await request(await upload(await plantedDefect('tiff')));
    await processor.handle([req, req]);
    const types = (await streamOf(req)).map((e) => e.type);
    expect(types).toEqual(['InspectionRequested', 'InferenceStarted', 'DetectionsRecorded', 'DetectionsRecorded']);
  });

  it('reuses a cached prediction for the same image, model and thresholds', async () => {
    const bytes = await plantedDefect();
    const first = await request(await upload(bytes));
    const second = await request(await upload(bytes));
    await processor.handle([first]);
    const [outcome] = await processor.handle([second]);
    expect(outcome).toMatchObject({ status: 'recorded', cached: true });
    const [a, b] = await Promise.all([streamOf(first), streamOf(second)]);
    const liveOf = (events: RecordedEvent[]) =>
      events.find((e) => e.type === 'DetectionsRecorded' && (e.data as { role: string }).role === 'live')!
        .data as EventData<'DetectionsRecorded'>;
    expect(liveOf(b).cached).toBe(true);
    expect(liveOf(b).detections).toEqual(liveOf(a).detections);
    expect(liveOf(b).timings).toEqual({ queueMs: 0, preprocessMs: 0, inferenceMs: 0, postprocessMs: 0 });
  });

  it('fails poison images finally with a reason, without retrying', async () => {
    const png = await plantedDefect();
    const cases: [string, Buffer, string][] = [
      ['truncated PNG', png.subarray(0, png.length - 60), 'corrupt-image'],
      ['zero bytes', Buffer.alloc(0), 'corrupt-image'],
      ['30000×30000 header', pngClaiming(30000, 30000), 'decompression-bomb'],
      ['text renamed .png', Buffer.from('this is not an image\n'), 'unsupported-media'],
    ];
    const requests = await Promise.all(cases.map(([, bytes]) => rawRequest(bytes)));
    const outcomes = await processor.handle(requests);
    for (const [i, [name, , code]] of cases.entries()) {
      expect(outcomes[i], name).toMatchObject({ status: 'failed', code, attempt: 1 });
      const events = await streamOf(requests[i]!);
      expect(
        events.map((e) => e.type),
        name,
      ).toEqual(['InspectionRequested', 'InferenceStarted', 'InspectionFailed']);
      const failure = events[2]!.data as EventData<'InspectionFailed'>;
      expect(failure, name).toMatchObject({ code, attempt: 1, final: true });
      expect(failure.reason.length, name).toBeGreaterThan(5);
    }
  });

  it('retries a failing model with backoff, then fails finally; a redelivery appends nothing', async () => {
    const garbage = Buffer.from(`not an onnx model ${randomUUID()}`);
    const { sha256, sizeBytes } = await blobs.put(garbage);
    await registerModel(
      { store },
      {
        name: 'broken',
        version: '1.0.0',
        sha256,
        sizeBytes,
        outputLayout: 'yolo',
        classes: ['bright', 'dark'],
        inputSize: { width: 64, height: 64 },
      },
      ctx,
    );
    const req = await rawRequest(await plantedDefect(), { name: 'broken', version: '1.0.0', sha256 });
    const [outcome] = await processor.handle([req]);
    expect(outcome).toMatchObject({ status: 'failed', code: 'model-error', attempt: 3 });
    const events = await streamOf(req);
    expect(events.map((e) => [e.type, (e.data as { attempt?: number; final?: boolean }).final ?? null])).toEqual([
      ['InspectionRequested', null],
      ['InferenceStarted', null],
      ['InspectionFailed', false],
      ['InferenceStarted', null],
      ['InspectionFailed', false],
      ['InferenceStarted', null],
      ['InspectionFailed', true],
    ]);
    expect(await processor.handle([req])).toEqual([{ inspectionId: req.data.inspectionId, status: 'already-done' }]);
    expect(await streamOf(req)).toHaveLength(7);
  });

  it('reads each inspection stream at most once per delivery, also through retries', async () => {
    const counted = countingStore(store);
    const counting = new InspectionProcessor(
      { store: counted.store, blobs, detector, sleep: async () => {} },
      { worker: 'counted-worker', maxAttempts: 3 },
    );
    const good = await request(await upload(await plantedDefect()));
    const garbage = Buffer.from(`not an onnx model ${randomUUID()}`);
    const { sha256, sizeBytes } = await blobs.put(garbage);
    const broken = { name: `broken-${randomUUID().slice(0, 8)}`, version: '1.0.0', sha256 };
    await registerModel(
      { store },
      { ...broken, sizeBytes, outputLayout: 'yolo', classes: ['bright'], inputSize: { width: 64, height: 64 } },
      ctx,
    );
    const failing = await rawRequest(await plantedDefect(), broken);
    const outcomes = await counting.handle([good, failing]);
    expect(outcomes.map((o) => o.status)).toEqual(['recorded', 'failed']);
    const streamOfReq = (r: InspectionRequest) => `inspection-${r.data.inspectionId}`;
    // live + shadow recorded (3 commands), and 3 attempts with 3 failures (6 commands): one read each.
    expect(counted.calls.appends.get(streamOfReq(good))).toBe(3);
    expect(counted.calls.appends.get(streamOfReq(failing))).toBe(6);
    expect(counted.calls.reads.get(streamOfReq(good))).toBe(1);
    expect(counted.calls.reads.get(streamOfReq(failing))).toBe(1);
  });

  it('fails finally at once when the bytes of a registered model are not in the store', async () => {
    const sha256 = 'ab'.repeat(32);
    const model = { name: 'vanished', version: '1.0.0', sha256 };
    await registerModel(
      { store },
      {
        ...model,
        sizeBytes: 1234,
        outputLayout: 'yolo',
        classes: ['bright', 'dark'],
        inputSize: { width: 64, height: 64 },
      },
      ctx,
    );
    const req = await rawRequest(await plantedDefect('png', 45), model);
    const [outcome] = await processor.handle([req]);
    expect(outcome).toMatchObject({ status: 'failed', code: 'model-unavailable', attempt: 1 });
  });

  it('fails finally at once when the image blob is gone', async () => {
    const req = await rawRequest(await plantedDefect('png', 40)); // bytes not seen before: no cached prediction
    await blobs.delete(req.data.fileSha256!);
    const [outcome] = await processor.handle([req]);
    expect(outcome).toMatchObject({ status: 'failed', code: 'blob-missing', attempt: 1 });
  });

  it('runs embedded: requests made through the commands are processed from the global log', async () => {
    const source = new EmbeddedInspectionSource(store, { after: await store.headPosition() });
    await processor.start(source);
    try {
      const requests = await Promise.all([1, 2, 3].map(async () => request(await upload(await plantedDefect()))));
      await source.caughtUpTo(await store.headPosition());
      for (const req of requests) {
        const live = (await streamOf(req)).find((e) => e.type === 'DetectionsRecorded');
        expect(live).toBeDefined();
        expect((live!.data as EventData<'DetectionsRecorded'>).detections[0]?.box).toEqual({
          x1: 32,
          y1: 16,
          x2: 48,
          y2: 32,
        });
      }
    } finally {
      await processor.stop();
    }
  });
  it('inspects a large image in tiles with the tiling its version was registered with, records it, and frees the image', async () => {
    const inspection = await new ModelStore(blobs, { pool: sessions }).register(brightBoundsDetector(64));
    const tiling = { overlapPx: 16, mmPerInputPixel: null, maxLetterboxShrink: 1 };
    await registerModel(
      { store },
      { ...modelRegisteredData(inspection, { name: 'weld-tiled', version: '1.0.0', registeredBy: 'tester' }), tiling },
      ctx,
    );
    // 200×120 grey, one bright crack across the border of the first two tile columns.
    const pixels = Buffer.alloc(200 * 120, 60);
    for (let y = 30; y < 36; y++) pixels.fill(240, y * 200 + 20, y * 200 + 100);
    const png = await sharp(pixels, { raw: { width: 200, height: 120, channels: 1 } })
      .png()
      .toBuffer();
    const req = await rawRequest(png, { name: 'weld-tiled', version: '1.0.0', sha256: inspection.sha256 });
    expect((await processor.handle([req]))[0]).toMatchObject({ status: 'recorded' });
    const recorded = (await streamOf(req)).find((e) => e.type === 'DetectionsRecorded')!;
    const data = recorded.data as EventData<'DetectionsRecorded'>;
    expect(recorded.schemaVersion).toBe(3);
    expect(data.tiling).toEqual({
      tileSize: { width: 64, height: 64 },
      overlapPx: 16,
      scale: 1,
      grid: { columns: 4, rows: 3 },
      tiles: 12,
    });
    expect(data.detections.map((d) => d.box)).toEqual([{ x1: 20, y1: 30, x2: 100, y2: 36 }]);
    expect(images.stats().memory.bytesInFlight).toBe(0);
  });

  it('keeps each detection above its class threshold and records the thresholds it filtered with (issue 9)', async () => {
    // Two boxes at the same score 0.5: one porosity, one crack; crack's threshold is 0.6.
    const bytes = syntheticNmsDetector(
      [
        [4, 4, 20, 20, 0.5, 0],
        [30, 30, 50, 50, 0.5, 1],
      ],
      { classes: ['porosity', 'crack'] },
    );
    const inspection = await new ModelStore(blobs, { pool: sessions }).register(bytes);
    const registered = modelRegisteredData(inspection, {
      name: 'weld-per-class',
      version: '1.0.0',
      registeredBy: 'tester',
    });
    const perClass = { confidence: 0.25, iou: 0.7, maxDetections: 300, classConfidence: { crack: 0.6 } };
    await registerModel({ store }, { ...registered, thresholds: { classConfidence: { crack: 0.6 } } }, ctx);
    await deployModel({ store }, { name: 'weld-per-class', version: '1.0.0' }, ctx);
    const fileId = await upload(await plantedDefect());
    const run = async (overrides?: { classConfidence: Record<string, number> }) => {
      const inspectionId = `i-${randomUUID()}`;
      const result = await requestInspection(
        { store },
        { inspectionId, fileId, modelName: 'weld-per-class', ...(overrides ? { thresholds: overrides } : {}) },
        ctx,
      );
      const req = inspectionRequestFrom(result.events[0]!)!;
      expect((await processor.handle([req]))[0]).toMatchObject({ status: 'recorded' });
      const recorded = (await streamOf(req)).find((e) => e.type === 'DetectionsRecorded')!;
      expect(recorded.schemaVersion).toBe(3);
      return { request: req.data, recorded: recorded.data as EventData<'DetectionsRecorded'> };
    };

    const deployed = await run();
    expect(deployed.request.thresholds).toEqual(perClass);
    expect(deployed.recorded.thresholds).toEqual(perClass);
    expect(deployed.recorded.detections.map((d) => [d.className, d.score])).toEqual([['porosity', 0.5]]);

    // The same image and model with the map cleared for this request: a cached result of the
    // filtered run must not answer it (the map is part of the prediction cache key).
    const cleared = await run({ classConfidence: {} });
    expect(cleared.recorded.thresholds).toEqual({ ...perClass, classConfidence: {} });
    expect(cleared.recorded.cached).toBe(false);
    expect(cleared.recorded.detections.map((d) => [d.className, d.score])).toEqual([
      ['porosity', 0.5],
      ['crack', 0.5],
    ]);

    // A porosity threshold at the score drops it too (kept only when the score exceeds it).
    const strict = await run({ classConfidence: { crack: 0.6, porosity: 0.5 } });
    expect(strict.recorded.detections).toEqual([]);
  });
});
