/**
 * One suite for every adapter of the search port: both must answer the same queries over the same
 * history with the same hits in the same order. Events come from the real PostgreSQL event store.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GlobalLog } from '../../commands/ports/event-store.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import {
  type DetectionHit,
  SearchCheckpointBehindError,
  type SearchIndex,
  type SearchQueries,
} from '../../projections/search/ports.js';
import { SearchProjector } from '../../projections/search/search-projector.js';
import { InvalidSearchQueryError } from '../../schemas/search-query.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';
import { appendScenario, detectionsRecorded, evaluated, requested, reviewed, SCENARIO, uploaded } from './scenario.js';

export type SearchAdapter = SearchIndex & SearchQueries;

export interface SearchAdapterFactory {
  /** A fresh, empty adapter whose staleness is measured against `log`. */
  create(log: GlobalLog, pool: pg.Pool): Promise<SearchAdapter>;
  /** Removes what `create` made (indexes, tables). */
  dispose(adapter: SearchAdapter): Promise<void>;
}

const summary = (hits: readonly DetectionHit[]) => hits.map((h) => `${h.inspectionId}/${h.className}/${h.score}`);

export function searchConformance(name: string, factory: SearchAdapterFactory): void {
  describe(`search port conformance: ${name}`, () => {
    let db: TestDatabase;
    let pool: pg.Pool;
    let store: PostgresEventStore;
    let search: SearchAdapter;

    const catchUp = async () => {
      // Small batches, so the retag of the first file lands in a later batch than its detections.
      await new SearchProjector({ log: store, index: search, batchSize: 3 }).catchUp();
      await search.refresh();
    };
    /** Indexes everything appended since the last catch-up as one batch. */
    const indexAsOneBatch = async () => {
      await new SearchProjector({ log: store, index: search, batchSize: 1000 }).catchUp();
      await search.refresh();
    };

    beforeAll(async () => {
      db = await createTestDatabase('chitti_search');
      pool = new pg.Pool({ connectionString: db.url, max: 4 });
      await migrate(pool);
      store = new PostgresEventStore(pool);
      search = await factory.create(store, pool);
      await search.prepare();
      await appendScenario(store);
      await catchUp();
    });

    afterAll(async () => {
      if (search) await factory.dispose(search);
      await store?.close();
      await pool?.end();
      await db?.drop();
    });

    it('filters detections by class, newest first, with the file name and current tags denormalised', async () => {
      const page = await search.searchDetections({ className: 'crack', limit: 10 });
      expect(summary(page.items)).toEqual(['i-second/crack/0.42', 'i-first/crack/0.91']);
      const first = page.items[1]!;
      expect(first).toMatchObject({
        fileId: SCENARIO.files.seam,
        fileName: 'weld_seam-01.png',
        modelName: 'weld-defects',
        modelVersion: '1.0.0',
        role: 'live',
        detectionId: 'd0',
        box: { x1: 0, y1: 0, x2: 10, y2: 10 },
        size: null, // that file's pixel spacing is unknown
      });
      expect([...first.tags].sort()).toEqual(['pipeline', 'urgent']);
      expect(first.id).toBe(`${first.eventId}:d0`);
      // The second file's spacing is 0.5 mm (rows) × 0.25 mm (columns): its 10×10 px boxes are 5 × 2.5 mm.
      expect(page.items[0]!.size).toEqual({ lengthMm: 5, widthMm: 2.5, areaMm2: 12.5 });
    });

    it('filters by score range (inclusive) and by model name and version', async () => {
      const mid = await search.searchDetections({ minScore: 0.55, maxScore: 0.8, limit: 10 });
      expect(summary(mid.items)).toEqual(['i-second/inclusion/0.77', 'i-first/porosity/0.55']);
      const v2 = await search.searchDetections({ model: 'weld-defects', modelVersion: '2.0.0', limit: 10 });
      expect(summary(v2.items)).toEqual(['i-second/inclusion/0.77', 'i-second/crack/0.42']);
      expect((await search.searchDetections({ model: 'other-model', limit: 10 })).items).toEqual([]);
    });

    it('filters by length in mm; boxes without a pixel spacing never match', async () => {
      const long = await search.searchDetections({ minLengthMm: 5, limit: 10 });
      expect(summary(long.items)).toEqual(['i-second/inclusion/0.77', 'i-second/crack/0.42']);
      expect((await search.searchDetections({ minLengthMm: 0, limit: 10 })).items).toHaveLength(2);
      expect((await search.searchDetections({ minLengthMm: 5.001, limit: 10 })).items).toEqual([]);
    });

    it('filters by time range: from inclusive, to exclusive', async () => {
      const all = (await search.searchDetections({ limit: 10 })).items;
      expect(all).toHaveLength(4);
      const boundary = all.find((h) => h.inspectionId === SCENARIO.inspections.second)!.recordedAt;
      const after = await search.searchDetections({ from: boundary, limit: 10 });
      expect(new Set(after.items.map((h) => h.inspectionId))).toEqual(new Set([SCENARIO.inspections.second]));
      const before = await search.searchDetections({ to: boundary, limit: 10 });
      expect(new Set(before.items.map((h) => h.inspectionId))).toEqual(new Set([SCENARIO.inspections.first]));
    });

    it('matches free text on file names and tags, every word, including tags changed after indexing', async () => {
      const words = async (text: string) =>
        (await search.searchDetections({ text, limit: 10 })).items.map((h) => h.inspectionId).sort();
      expect(await words('seam')).toEqual(['i-first', 'i-first']);
      expect(await words('PNG weld')).toEqual(['i-first', 'i-first']);
      expect(await words('urgent')).toEqual(['i-first', 'i-first']);
      expect(await words('north')).toEqual([]);
      expect(await words('casting bracket')).toEqual(['i-second', 'i-second']);
      expect(await words('casting weld')).toEqual([]);
    });

    it('combines filters and pages with a cursor through the same order as one page', async () => {
      const combined = await search.searchDetections({ text: 'urgent', className: 'crack', minScore: 0.9, limit: 10 });
      expect(summary(combined.items)).toEqual(['i-first/crack/0.91']);
      const whole = (await search.searchDetections({ limit: 10 })).items.map((h) => h.id);
      const paged: string[] = [];
      let cursor: string | undefined;
      for (let i = 0; i < 10; i++) {
        const page = await search.searchDetections({ limit: 3, cursor });
        paged.push(...page.items.map((h) => h.id));
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      expect(paged).toEqual(whole);
    });

    it('searches the audit trail by actor, action, event type and text', async () => {
      const byActor = await search.searchAudit({ actor: SCENARIO.auditor, limit: 10 });
      expect(byActor.items.map((h) => [h.eventType, h.action, h.streamId])).toEqual([
        ['AccessRecorded', 'audit.export', 'access-2026-11-23'],
      ]);
      expect((await search.searchAudit({ action: 'audit.export', limit: 10 })).items).toHaveLength(1);
      const uploads = await search.searchAudit({ eventType: 'FileUploaded', limit: 10 });
      expect(uploads.items.map((h) => h.streamId)).toEqual(['file-f-bracket', 'file-f-seam']);
      const text = await search.searchAudit({ text: 'bracket', actor: SCENARIO.operator, limit: 10 });
      expect(text.items.map((h) => h.eventType).sort()).toEqual(['FileUploaded', 'InspectionRequested']);
      const detections = await search.searchAudit({ actor: SCENARIO.inference, limit: 10 });
      expect(detections.items.map((h) => h.correlationId)).toEqual(['corr-i-second', 'corr-i-first']);
      const all = await search.searchAudit({ limit: 100 });
      expect(all.items).toHaveLength(await store.headPosition());
    });

    it('re-indexing the same events changes nothing', async () => {
      const before = await search.searchDetections({ limit: 10 });
      const beforeAudit = await search.searchAudit({ limit: 100 });
      const events = await store.readAll({ after: 0, maxCount: 100 });
      const result = await search.indexBatch(events);
      expect(result.applied).toBe(0);
      await search.refresh();
      expect((await search.searchDetections({ limit: 10 })).items).toEqual(before.items);
      expect((await search.searchAudit({ limit: 100 })).items).toEqual(beforeAudit.items);
    });

    it('refuses to write past a hole: a read position beyond the checkpoint is an error', async () => {
      const checkpoint = await search.checkpoint();
      await expect(search.indexBatch([], { after: checkpoint + 5 })).rejects.toBeInstanceOf(
        SearchCheckpointBehindError,
      );
    });

    it('reports staleness while the index trails the log, and freshness once caught up', async () => {
      const fresh = await search.searchDetections({ limit: 1 });
      expect(fresh.freshness).toMatchObject({ stale: false, lag: 0 });
      await store.append(
        'inspection-i-third',
        [detectionsRecorded('i-third', '2.0.0', [{ className: 'crack', score: 0.3 }])],
        { expectedVersion: 'any' },
      );
      const stale = await search.searchDetections({ className: 'crack', limit: 10 });
      expect(stale.freshness.stale).toBe(true);
      expect(stale.freshness.lag).toBe(1);
      expect(stale.freshness.headPosition).toBe(stale.freshness.indexedPosition + 1);
      expect(stale.items).toHaveLength(2);
      await catchUp();
      const caught = await search.searchDetections({ className: 'crack', limit: 10 });
      expect(caught.freshness).toMatchObject({ stale: false, lag: 0 });
      expect(caught.items.map((h) => h.inspectionId)).toEqual(['i-third', 'i-second', 'i-first']);
      expect(caught.items[0]!.fileId).toBeNull();
    });

    it('rejects bad queries with a typed error', async () => {
      await expect(search.searchDetections({ minScore: 0.9, maxScore: 0.1, limit: 10 })).rejects.toBeInstanceOf(
        InvalidSearchQueryError,
      );
      await expect(search.searchDetections({ cursor: 'not-a-cursor', limit: 10 })).rejects.toBeInstanceOf(
        InvalidSearchQueryError,
      );
      await expect(search.searchAudit({ limit: 0 })).rejects.toBeInstanceOf(InvalidSearchQueryError);
      await expect(
        search.searchDetections({ verdict: 'pending', limit: 1 } as unknown as Parameters<
          SearchQueries['searchDetections']
        >[0]),
      ).rejects.toBeInstanceOf(InvalidSearchQueryError);
      await expect(
        search.searchAudit({ actor: 'x', unknown: true, limit: 1 } as unknown as Parameters<
          SearchQueries['searchAudit']
        >[0]),
      ).rejects.toBeInstanceOf(InvalidSearchQueryError);
    });

    // Reviews: a file tagged line-3 whose live detections d0 crack, d1 crack, d2 porosity get reviewed.
    const onLine3 = async (query: Omit<Parameters<SearchQueries['searchDetections']>[0], 'text' | 'limit'> = {}) =>
      (await search.searchDetections({ ...query, text: 'line-3', limit: 10 })).items;
    const reviewTimes = async () =>
      (await store.readAll({ after: 0, maxCount: 1000 }))
        .filter((e) => e.type === 'DetectionReviewed')
        .map((e) => e.recordedAt.toISOString());

    it('applies a review to a detection indexed in the same batch and filters by verdict', async () => {
      const any = { expectedVersion: 'any' as const };
      await store.append('file-f-line3', [uploaded('f-line3', 'plate_07.png', ['line-3'])], any);
      await store.append(
        'inspection-i-review',
        [
          requested('i-review', 'f-line3', '1.0.0'),
          detectionsRecorded('i-review', '1.0.0', [
            { className: 'crack', score: 0.8 },
            { className: 'crack', score: 0.6 },
            { className: 'porosity', score: 0.5 },
          ]),
          reviewed('i-review', 'd0', 'confirmed'),
          // A shadow's boxes cannot be reviewed: they are never "unreviewed" either.
          detectionsRecorded('i-review', '2.0.0', [{ className: 'crack', score: 0.7 }], 'shadow'),
        ],
        any,
      );
      await indexAsOneBatch();
      const [confirmedAt] = await reviewTimes();
      const confirmedCracks = await search.searchDetections({
        verdict: 'confirmed',
        className: 'crack',
        text: 'line-3',
        limit: 10,
      });
      expect(confirmedCracks.items).toHaveLength(1);
      expect(confirmedCracks.items[0]).toMatchObject({
        inspectionId: 'i-review',
        detectionId: 'd0',
        review: { verdict: 'confirmed', newClassName: null, reviewer: SCENARIO.reviewer, reviewedAt: confirmedAt },
      });
      expect((await onLine3({ verdict: 'unreviewed' })).map((h) => h.detectionId)).toEqual(['d1', 'd2']);
      expect((await onLine3({ verdict: 'unreviewed' })).every((h) => h.review === null)).toBe(true);
      // Nothing of the earlier history was reviewed.
      const unreviewed = await search.searchDetections({ verdict: 'unreviewed', limit: 100 });
      const all = await search.searchDetections({ limit: 100 });
      expect(unreviewed.items).toHaveLength(all.items.filter((h) => h.role === 'live').length - 1);
      expect(all.items.some((h) => h.role === 'shadow' && h.inspectionId === 'i-review')).toBe(true);
    });

    it('applies reviews to detections of earlier batches; the latest review wins, also within a batch', async () => {
      const any = { expectedVersion: 'any' as const };
      await store.append(
        'inspection-i-review',
        [
          reviewed('i-review', 'd1', 'relabelled', 'undercut'),
          reviewed('i-review', 'd2', 'confirmed'),
          reviewed('i-review', 'd2', 'rejected'),
        ],
        any,
      );
      await indexAsOneBatch();
      const times = await reviewTimes();
      const byDetection = async () => new Map((await onLine3()).map((h) => [h.detectionId, h.review]));
      expect(await byDetection()).toEqual(
        new Map([
          ['d0', { verdict: 'confirmed', newClassName: null, reviewer: SCENARIO.reviewer, reviewedAt: times[0] }],
          [
            'd1',
            { verdict: 'relabelled', newClassName: 'undercut', reviewer: SCENARIO.reviewer, reviewedAt: times[1] },
          ],
          ['d2', { verdict: 'rejected', newClassName: null, reviewer: SCENARIO.reviewer, reviewedAt: times[3] }],
        ]),
      );
      expect((await onLine3({ verdict: 'relabelled' })).map((h) => [h.detectionId, h.className])).toEqual([
        ['d1', 'crack'],
      ]);

      // A second review of each, in a later batch: the relabel's new class goes with it.
      await store.append(
        'inspection-i-review',
        [reviewed('i-review', 'd0', 'rejected'), reviewed('i-review', 'd1', 'confirmed')],
        any,
      );
      await indexAsOneBatch();
      const later = await reviewTimes();
      const reviews = await byDetection();
      expect(reviews.get('d0')).toEqual({
        verdict: 'rejected',
        newClassName: null,
        reviewer: SCENARIO.reviewer,
        reviewedAt: later[4],
      });
      expect(reviews.get('d1')).toEqual({
        verdict: 'confirmed',
        newClassName: null,
        reviewer: SCENARIO.reviewer,
        reviewedAt: later[5],
      });
      const verdicts = async (verdict: 'unreviewed' | 'confirmed' | 'rejected' | 'relabelled') =>
        (await onLine3({ verdict })).map((h) => h.detectionId);
      expect(await verdicts('confirmed')).toEqual(['d1']);
      expect(await verdicts('rejected')).toEqual(['d0', 'd2']);
      expect(await verdicts('relabelled')).toEqual([]);
      expect(await verdicts('unreviewed')).toEqual([]);
      expect((await search.searchDetections({ verdict: 'confirmed', limit: 100 })).items).toHaveLength(1);
    });

    it('re-indexing events with reviews changes nothing', async () => {
      const before = await search.searchDetections({ limit: 100 });
      const events = await store.readAll({ after: 0, maxCount: 1000 });
      expect((await search.indexBatch(events)).applied).toBe(0);
      expect((await search.indexBatch(events.slice(-3))).applied).toBe(0);
      await search.refresh();
      expect((await search.searchDetections({ limit: 100 })).items).toEqual(before.items);
    });

    it('shows each inspection’s latest acceptance verdict on all its detections and filters by it', async () => {
      const any = { expectedVersion: 'any' as const };
      const acceptanceOf = async () =>
        new Map(
          (await search.searchDetections({ limit: 100 })).items.map((h) => [h.id, [h.inspectionId, h.acceptance]]),
        );
      expect([...(await acceptanceOf()).values()].every(([, acceptance]) => acceptance === null)).toBe(true);
      // Evaluated after its detections were indexed (earlier batches): live and shadow boxes follow.
      await store.append('inspection-i-review', [evaluated('i-review', 'reject')], any);
      await indexAsOneBatch();
      const rejected = await search.searchDetections({ acceptance: 'reject', limit: 100 });
      expect(rejected.items).toHaveLength(4);
      expect(rejected.items.every((h) => h.inspectionId === 'i-review' && h.acceptance === 'reject')).toBe(true);
      expect((await search.searchDetections({ acceptance: 'accept', limit: 100 })).items).toEqual([]);
      // A re-evaluation and a new run in one batch: old and new boxes show the latest verdict.
      await store.append(
        'inspection-i-review',
        [
          evaluated('i-review', 'accept'),
          detectionsRecorded('i-review', '3.0.0', [{ className: 'slag', score: 0.6 }], 'shadow'),
        ],
        any,
      );
      await store.append('inspection-i-first', [evaluated(SCENARIO.inspections.first, 'indeterminate')], any);
      await catchUp();
      const after = await acceptanceOf();
      for (const [inspectionId, acceptance] of after.values()) {
        const expected =
          inspectionId === 'i-review' ? 'accept' : inspectionId === SCENARIO.inspections.first ? 'indeterminate' : null;
        expect([inspectionId, acceptance]).toEqual([inspectionId, expected]);
      }
      const accepted = await search.searchDetections({ acceptance: 'accept', limit: 100 });
      expect(accepted.items.map((h) => h.className).sort()).toEqual(['crack', 'crack', 'crack', 'porosity', 'slag']);
      expect((await search.searchDetections({ acceptance: 'reject', limit: 100 })).items).toEqual([]);
      // Replaying the same events changes nothing.
      const events = await store.readAll({ after: 0, maxCount: 1000 });
      expect((await search.indexBatch(events)).applied).toBe(0);
    });
  });
}
