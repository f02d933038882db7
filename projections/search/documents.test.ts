import { describe, expect, it } from 'vitest';
import { currentVersionOf, type NewEvent, type RecordedEvent } from '../../schemas/events/index.js';
import { detectionsRecorded, requested, reviewed, uploaded } from '../../test/search/scenario.js';
import {
  decodeEvents,
  detectionDocId,
  inspectionIdsNeeded,
  planSearchBatch,
  type SearchBatchPlan,
  type SearchFacts,
} from './documents.js';

let position = 0;
const recorded = (streamId: string, event: NewEvent): RecordedEvent => {
  position++;
  return {
    globalPosition: position,
    streamId,
    streamVersion: position,
    eventId: `e${position}`,
    type: event.type,
    schemaVersion: currentVersionOf(event.type),
    data: event.data,
    metadata: event.metadata,
    recordedAt: new Date(Date.UTC(2026, 10, 23, 10, 0, position)),
    hash: 'h'.repeat(64),
  };
};

const noFacts: SearchFacts = { files: new Map(), inspections: new Map() };

/** The facts a store holds after applying `plan` on top of `facts`. */
const stored = (facts: SearchFacts, plan: SearchBatchPlan): SearchFacts => ({
  files: new Map([...facts.files, ...plan.files.map((f) => [f.fileId, f] as const)]),
  inspections: new Map([...facts.inspections, ...plan.inspections.map((i) => [i.inspectionId, i] as const)]),
});

describe('planSearchBatch: reviews', () => {
  const first = [
    recorded('file-f1', uploaded('f1', 'plate.png', ['line-3'])),
    recorded('inspection-i1', requested('i1', 'f1', '1.0.0')),
    recorded(
      'inspection-i1',
      detectionsRecorded('i1', '1.0.0', [
        { className: 'crack', score: 0.9 },
        { className: 'pore', score: 0.4 },
      ]),
    ),
    recorded('inspection-i1', reviewed('i1', 'd0', 'confirmed')),
  ];
  const liveEventId = first[2]!.eventId;
  const firstPlan = planSearchBatch(decodeEvents(first), noFacts);

  it('applies a review of a document of the same batch to the document', () => {
    expect(firstPlan.detections.map((d) => [d.detectionId, d.review?.verdict ?? null])).toEqual([
      ['d0', 'confirmed'],
      ['d1', null],
    ]);
    expect(firstPlan.detections[0]!.review).toEqual({
      verdict: 'confirmed',
      newClassName: null,
      reviewer: 'rita-reviewer',
      reviewedAt: first[3]!.recordedAt.toISOString(),
    });
    expect(firstPlan.reviews).toEqual([]);
    expect(firstPlan.inspections).toEqual([
      {
        inspectionId: 'i1',
        fileId: 'f1',
        liveDetectionsEventId: liveEventId,
        verdict: null,
        detectionDocIds: [detectionDocId(liveEventId, 'd0'), detectionDocId(liveEventId, 'd1')],
      },
    ]);
  });

  it('plans reviews of earlier documents as updates, the latest per document', () => {
    const second = [
      recorded('inspection-i1', reviewed('i1', 'd1', 'relabelled', 'porosity')),
      recorded('inspection-i1', reviewed('i1', 'd0', 'rejected')),
      recorded('inspection-i1', reviewed('i1', 'd1', 'confirmed')),
    ];
    const decoded = decodeEvents(second);
    expect(inspectionIdsNeeded(decoded)).toEqual(['i1']);
    const plan = planSearchBatch(decoded, stored(noFacts, firstPlan));
    expect(plan.detections).toEqual([]);
    expect(plan.reviews).toEqual([
      { docId: detectionDocId(liveEventId, 'd1'), review: expect.objectContaining({ verdict: 'confirmed' }) },
      { docId: detectionDocId(liveEventId, 'd0'), review: expect.objectContaining({ verdict: 'rejected' }) },
    ]);
    expect(plan.reviews[0]!.review).toMatchObject({
      newClassName: null,
      reviewedAt: second[2]!.recordedAt.toISOString(),
    });
  });

  it('never targets shadow detections', () => {
    const shadow = detectionsRecorded('i1', '2.0.0', [{ className: 'crack', score: 0.5 }]);
    const events = [
      recorded('inspection-i1', { ...shadow, data: { ...(shadow.data as object), role: 'shadow' } } as NewEvent),
      recorded('inspection-i1', reviewed('i1', 'd0', 'rejected')),
    ];
    const plan = planSearchBatch(decodeEvents(events), stored(noFacts, firstPlan));
    expect(plan.detections.map((d) => d.review)).toEqual([null]);
    expect(plan.reviews.map((r) => r.docId)).toEqual([detectionDocId(liveEventId, 'd0')]);
    // The shadow run's boxes are the inspection's too (they show its verdict), but never the reviewed ones.
    expect(plan.inspections.map((i) => i.liveDetectionsEventId)).toEqual([liveEventId]);
  });

  it('plans the same contents when a batch is replayed over the facts it stored', () => {
    const replayed = planSearchBatch(decodeEvents(first), stored(noFacts, firstPlan));
    expect(replayed.detections).toEqual(firstPlan.detections);
    expect(replayed.reviews).toEqual(firstPlan.reviews);
    expect(replayed.inspections).toEqual(firstPlan.inspections);
  });
});
