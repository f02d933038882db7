import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectionsProjection } from '../../projections/read-models/inspections.js';
import { recorded, requested, reviewed } from './events.js';
import { createLogFixture, emit, type LogFixture, projectToHead, rowsOf } from './support.js';

let fx: LogFixture;
beforeAll(async () => {
  fx = await createLogFixture(4);
});
afterAll(async () => {
  await fx.close();
});

describe('inspections, detections, reviews and statistics', () => {
  it('follows an inspection from request to close, across batch boundaries', async () => {
    const s1 = 'inspection-i1';
    await emit(fx, s1, 'InspectionRequested', requested('i1', 'f1', '1.0.0', ['2.0.0']), 'olga');
    await emit(fx, s1, 'InferenceStarted', { inspectionId: 'i1', attempt: 1, worker: 'w1' }, 'processor');
    await emit(
      fx,
      s1,
      'InspectionFailed',
      { inspectionId: 'i1', code: 'timeout', reason: 'took too long', attempt: 1, final: false },
      'processor',
    );
    await emit(fx, s1, 'InferenceStarted', { inspectionId: 'i1', attempt: 2, worker: 'w2' }, 'processor');
    await emit(
      fx,
      s1,
      'DetectionsRecorded',
      recorded('i1', 'shadow', '2.0.0', [{ className: 'crack', box: [0, 0, 10, 10] }]),
    );
    await emit(
      fx,
      s1,
      'DetectionsRecorded',
      recorded('i1', 'live', '1.0.0', [
        { className: 'crack', score: 0.9, box: [0, 0, 10, 10] },
        { className: 'porosity', score: 0.6, box: [50, 50, 60, 60] },
        { className: 'crack', score: 0.4, box: [100, 100, 120, 130] },
      ]),
      'processor',
    );
    await projectToHead(fx, [inspectionsProjection], { batchSize: 3 });
    expect((await rowsOf(fx, `SELECT status FROM read.inspections WHERE inspection_id = 'i1'`))[0]?.status).toBe(
      'detected',
    );

    await emit(fx, s1, 'DetectionReviewed', reviewed('i1', 'd0', 'confirmed'), 'rita');
    await emit(fx, s1, 'DetectionReviewed', reviewed('i1', 'd1', 'rejected'), 'rita');
    await emit(fx, s1, 'DetectionReviewed', reviewed('i1', 'd2', 'relabelled', 'rita', 'slag'), 'rita');
    await emit(fx, s1, 'DetectionReviewed', reviewed('i1', 'd1', 'confirmed', 'sam'), 'sam');
    await emit(
      fx,
      s1,
      'InspectionClosed',
      { inspectionId: 'i1', outcome: 'rejected', note: 'crack', closedBy: 'rita' },
      'rita',
    );
    await emit(fx, 'inspection-i2', 'InspectionRequested', requested('i2', 'f2'), 'olga');
    await emit(
      fx,
      'inspection-i2',
      'InspectionFailed',
      { inspectionId: 'i2', code: 'corrupt-image', reason: 'truncated PNG', attempt: 1, final: true },
      'processor',
    );
    await projectToHead(fx, [inspectionsProjection], { batchSize: 3 });

    const [i1, i2] = await rowsOf(fx, 'SELECT * FROM read.inspections ORDER BY inspection_id');
    expect(i1).toMatchObject({
      file_id: 'f1',
      model_name: 'weld',
      model_version: '1.0.0',
      selection_reason: 'explicit',
      shadows: [{ name: 'weld', version: '2.0.0' }],
      status: 'closed',
      outcome: 'rejected',
      attempts: 2,
      worker: 'w2',
      failure_code: 'timeout',
      detection_count: 3,
      shadow_runs: 1,
      reviewed_count: 3,
      confirmed_count: 2,
      rejected_count: 0,
      relabelled_count: 1,
      inference_ms: 30,
      batch_size: 4,
      cached: false,
      closed_by: 'rita',
    });
    expect(i2).toMatchObject({
      status: 'failed',
      failure_code: 'corrupt-image',
      failure_reason: 'truncated PNG',
      attempts: 1,
    });

    const boxes = await rowsOf(
      fx,
      'SELECT role, model_version, detection_id, class_name, score, x2, y2, verdict, relabelled_to, reviewed_by, file_id FROM read.detections ORDER BY role, detection_id',
    );
    expect(boxes).toEqual([
      {
        role: 'live',
        model_version: '1.0.0',
        detection_id: 'd0',
        class_name: 'crack',
        score: 0.9,
        x2: 10,
        y2: 10,
        verdict: 'confirmed',
        relabelled_to: null,
        reviewed_by: 'rita',
        file_id: 'f1',
      },
      {
        role: 'live',
        model_version: '1.0.0',
        detection_id: 'd1',
        class_name: 'porosity',
        score: 0.6,
        x2: 60,
        y2: 60,
        verdict: 'confirmed',
        relabelled_to: null,
        reviewed_by: 'sam',
        file_id: 'f1',
      },
      {
        role: 'live',
        model_version: '1.0.0',
        detection_id: 'd2',
        class_name: 'crack',
        score: 0.4,
        x2: 120,
        y2: 130,
        verdict: 'relabelled',
        relabelled_to: 'slag',
        reviewed_by: 'rita',
        file_id: 'f1',
      },
      {
        role: 'shadow',
        model_version: '2.0.0',
        detection_id: 'd0',
        class_name: 'crack',
        score: 0.5,
        x2: 10,
        y2: 10,
        verdict: null,
        relabelled_to: null,
        reviewed_by: null,
        file_id: 'f1',
      },
    ]);

    const reviews = await rowsOf(
      fx,
      'SELECT detection_id, class_name, verdict, new_class_name, reviewer FROM read.reviews ORDER BY position',
    );
    expect(reviews).toEqual([
      { detection_id: 'd0', class_name: 'crack', verdict: 'confirmed', new_class_name: null, reviewer: 'rita' },
      { detection_id: 'd1', class_name: 'porosity', verdict: 'rejected', new_class_name: null, reviewer: 'rita' },
      { detection_id: 'd2', class_name: 'crack', verdict: 'relabelled', new_class_name: 'slag', reviewer: 'rita' },
      { detection_id: 'd1', class_name: 'porosity', verdict: 'confirmed', new_class_name: null, reviewer: 'sam' },
    ]);

    // Current verdicts per class: the re-review moved porosity from rejected to confirmed.
    expect(await rowsOf(fx, 'SELECT * FROM read.review_stats ORDER BY class_name')).toEqual([
      { class_name: 'crack', confirmed: 1, rejected: 0, relabelled: 1, reviews: 2 },
      { class_name: 'porosity', confirmed: 1, rejected: 0, relabelled: 0, reviews: 2 },
    ]);

    // Only live boxes count as defects.
    const daily = await rowsOf(
      fx,
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, class_name, detections, inspections, score_sum_micro::int AS score FROM read.daily_defect_stats ORDER BY class_name`,
    );
    const today = (
      await rowsOf(
        fx,
        `SELECT to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS d FROM events WHERE type = 'DetectionsRecorded' LIMIT 1`,
      )
    )[0]!.d;
    expect(daily).toEqual([
      { day: today, class_name: 'crack', detections: 2, inspections: 1, score: 1_300_000 },
      { day: today, class_name: 'porosity', detections: 1, inspections: 1, score: 600_000 },
    ]);
  });
});
