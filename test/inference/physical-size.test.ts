import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployModel, registerModel, requestInspection, uploadFile } from '../../commands/index.js';
import { Detector } from '../../inference/detector.js';
import { readDicom } from '../../inference/dicom/index.js';
import { ImagePool } from '../../inference/image-pool.js';
import { ModelStore, modelRegisteredData } from '../../inference/model-store.js';
import { inspectionRequestFrom } from '../../inference/ports/request-source.js';
import { InspectionProcessor } from '../../inference/processor.js';
import { SessionPool } from '../../inference/session-pool.js';
import { FsBlobStore } from '../../infra/blob/fs-blob-store.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import type { EventData, PixelSpacingMm } from '../../schemas/events/index.js';
import { greyDicom, TRANSFER_SYNTAX } from '../support/dicom.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';
import { syntheticDetector } from './support/onnx-builder.js';

const ctx = { actor: 'tester' };

/** 128×96 8-bit grey (51) with a white 16×16 square at x 32..48, y 16..32: the synthetic model's target. */
const stored = Array.from({ length: 128 * 96 }, (_, i) => {
  const x = i % 128;
  const y = Math.floor(i / 128);
  return x >= 32 && x < 48 && y >= 16 && y < 32 ? 255 : 51;
});

describe('DetectionsRecorded carries sizes in mm when the file’s pixel spacing is known', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let store: PostgresEventStore;
  let root: string;
  let blobs: FsBlobStore;
  let sessions: SessionPool;
  let images: ImagePool;
  let detector: Detector;
  let processor: InspectionProcessor;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    await migrate(pool);
    store = new PostgresEventStore(pool, { safetyPollMs: 200 });
    root = await mkdtemp(join(tmpdir(), 'chitti-size-'));
    blobs = new FsBlobStore(root);
    sessions = new SessionPool();
    const models = new ModelStore(blobs, { pool: sessions });
    images = new ImagePool();
    detector = new Detector(sessions, images, (sha) => models.bytes(sha), { maxBatch: 1, maxWaitMs: 1 });
    processor = new InspectionProcessor({ store, blobs, detector, sleep: async () => {} }, { worker: 'w' });
    const inspection = await models.register(syntheticDetector({ imgsz: 64, stride: 8 }));
    await registerModel(
      { store },
      modelRegisteredData(inspection, { name: 'weld-synth', version: '1.0.0', registeredBy: 'tester' }),
      ctx,
    );
    await deployModel({ store }, { name: 'weld-synth', version: '1.0.0' }, ctx);
  });

  afterAll(async () => {
    await detector?.close();
    await sessions?.close();
    await images?.close();
    await pool?.end();
    await db?.drop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** Uploads the DICOM file as the API would (header read by readDicom), with or without a spacing. */
  async function inspect(bytes: Buffer, pixelSpacingMm?: PixelSpacingMm) {
    const image = readDicom(bytes, { maxPixels: 1e6 });
    const { sha256, sizeBytes } = await blobs.put(bytes);
    const fileId = `f-${randomUUID()}`;
    const spacing = pixelSpacingMm ?? image.pixelSpacingMm ?? undefined;
    await uploadFile(
      { store },
      {
        fileId,
        sha256,
        sizeBytes,
        mediaType: 'application/dicom',
        width: image.width,
        height: image.height,
        bitDepth: image.bitDepth,
        channels: 1,
        originalName: 'weld.dcm',
        dicom: image.header,
        ...(spacing ? { pixelSpacingMm: spacing } : {}),
      },
      ctx,
    );
    const inspectionId = `i-${randomUUID()}`;
    const requested = await requestInspection({ store }, { inspectionId, fileId, modelName: 'weld-synth' }, ctx);
    const [outcome] = await processor.handle([inspectionRequestFrom(requested.events[0]!)!]);
    expect(outcome).toMatchObject({ status: 'recorded' });
    const recorded = (await store.readStream(`inspection-${inspectionId}`)).find(
      (e) => e.type === 'DetectionsRecorded',
    );
    return { event: recorded!, data: recorded!.data as EventData<'DetectionsRecorded'> };
  }

  it('from the DICOM header’s PixelSpacing (row 0.1 mm, column 0.2 mm)', async () => {
    const { event, data } = await inspect(
      greyDicom(
        { rows: 96, columns: 128, bitsAllocated: 8, stored, pixelSpacing: [0.1, 0.2] },
        {
          transferSyntaxUid: TRANSFER_SYNTAX.explicitBig,
        },
      ),
    );
    expect(event.schemaVersion).toBe(3);
    expect(data.pixelSpacingMm).toEqual({ row: 0.1, column: 0.2 });
    expect(data.detections).toHaveLength(1);
    // The 16×16 px square: 16 columns × 0.2 mm = 3.2 mm across, 16 rows × 0.1 mm = 1.6 mm along.
    expect(data.detections[0]).toMatchObject({
      box: { x1: 32, y1: 16, x2: 48, y2: 32 },
      size: { lengthMm: 3.2, widthMm: 1.6, areaMm2: 5.12 },
    });
    expect(data.window).toEqual({ low: 0, high: 255 }); // 8-bit DICOM: its full range
  });

  it('from the spacing given at upload', async () => {
    const { data } = await inspect(greyDicom({ rows: 96, columns: 128, bitsAllocated: 8, stored }), {
      row: 0.05,
      column: 0.05,
    });
    expect(data.pixelSpacingMm).toEqual({ row: 0.05, column: 0.05 });
    expect(data.detections[0]!.size).toEqual({ lengthMm: 0.8, widthMm: 0.8, areaMm2: 0.64 });
  });

  it('not at all when the spacing is unknown: no sizes, no spacing', async () => {
    const { data } = await inspect(greyDicom({ rows: 96, columns: 128, bitsAllocated: 8, stored }));
    expect(data.detections).toHaveLength(1);
    expect(data.detections[0]).not.toHaveProperty('size');
    expect(data).not.toHaveProperty('pixelSpacingMm');
  });
});
