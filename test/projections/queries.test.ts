import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  AuditEntry,
  DailyDefectRows,
  FileRow,
  InspectionDetail,
  InspectionRow,
  ModelDetail,
  ModelRow,
  ReviewStatsRows,
} from '../../api/schemas.js';
import { InvalidQueryError, ReadModelQueries } from '../../projections/queries.js';
import { readModelProjections } from '../../projections/read-models/index.js';
import { createLogFixture, type LogFixture, projectToHead } from './support.js';
import { generateWorkload, writeWorkload } from './workload.js';

let fx: LogFixture;
let queries: ReadModelQueries;
beforeAll(async () => {
  fx = await createLogFixture(6);
  await writeWorkload(fx.store, generateWorkload({ inspections: 40, seed: 5 }));
  await projectToHead(fx, readModelProjections, { batchSize: 200 });
  queries = new ReadModelQueries(fx.pool, fx.store);
});
afterAll(async () => {
  await fx.close();
});

/** Follows nextCursor to the end; every page must be at most `limit` long. */
async function allPages<T>(
  fetch: (cursor?: string) => Promise<{ items: T[]; nextCursor: string | null }>,
  limit: number,
) {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await fetch(cursor);
    expect(page.items.length).toBeLessThanOrEqual(limit);
    items.push(...page.items);
    if (!page.nextCursor) return items;
    cursor = page.nextCursor;
  }
  throw new Error('pagination did not end');
}

describe('read queries', () => {
  it('pages through files without gaps or repeats and filters by tag and deletion', async () => {
    const all = await allPages((cursor) => queries.listFiles({ includeDeleted: true, limit: 7, cursor }), 7);
    expect(all).toHaveLength(40);
    expect(new Set(all.map((f) => f.fileId)).size).toBe(40);
    // Newest upload first; the workload uploads f0, f1, ... in order.
    expect(all.map((f) => f.fileId)).toEqual(Array.from({ length: 40 }, (_, i) => `f${39 - i}`));
    const live = await allPages((cursor) => queries.listFiles({ limit: 7, cursor }), 7);
    expect(live.every((f) => !f.deleted)).toBe(true);
    expect(live.length).toBe(all.filter((f) => !f.deleted).length);
    const urgent = await queries.listFiles({ tag: 'urgent', includeDeleted: 'true', limit: 500 });
    expect(urgent.items.length).toBeGreaterThan(0);
    expect(urgent.items.every((f) => f.tags.includes('urgent'))).toBe(true);
    const one = await queries.getFile(all[0]!.fileId);
    expect(one).toEqual(all[0]);
    expect(await queries.getFile('missing')).toBeNull();
  });

  it('lists inspections by status and model, and returns one with its boxes and reviews', async () => {
    const closed = await allPages((cursor) => queries.listInspections({ status: 'closed', limit: 5, cursor }), 5);
    expect(closed.length).toBeGreaterThan(0);
    expect(closed.every((i) => i.status === 'closed' && i.outcome !== null)).toBe(true);
    const canary = await queries.listInspections({ modelVersion: '1.1.0', limit: 500 });
    expect(canary.items.every((i) => i.model.version === '1.1.0')).toBe(true);
    const future = await queries.listInspections({ from: new Date(Date.now() + 3_600_000).toISOString() });
    expect(future.items).toEqual([]);

    const reviewed = closed.find((i) => (i.counts.reviewed ?? 0) > 0)!;
    const full = await queries.getInspection(reviewed.inspectionId);
    expect(full).not.toBeNull();
    const live = full!.detections.filter((d) => d.role === 'live');
    expect(live).toHaveLength(full!.counts.detections!);
    expect(live.filter((d) => d.review !== null)).toHaveLength(full!.counts.reviewed!);
    expect(full!.reviews.length).toBeGreaterThanOrEqual(full!.counts.reviewed!);
    expect(await queries.getInspection('nope')).toBeNull();
  });

  it('filters detections by class and score and pages by (position, ordinal)', async () => {
    const cracks = await allPages(
      (cursor) => queries.listDetections({ className: 'crack', minScore: 0.5, limit: 4, cursor }),
      4,
    );
    expect(cracks.length).toBeGreaterThan(0);
    expect(cracks.every((d) => d.className === 'crack' && d.score! >= 0.5 && d.role === 'live')).toBe(true);
    const keys = cracks.map((d) => `${d.inspectionId}/${d.model.version}/${d.detectionId}`);
    expect(new Set(keys).size).toBe(keys.length);
    const { rows } = await fx.pool.query(
      `SELECT count(*)::int AS n FROM read.detections WHERE role = 'live' AND class_name = 'crack' AND score >= 0.5`,
    );
    expect(cracks).toHaveLength(rows[0].n);
    const shadow = await queries.listDetections({ role: 'shadow', limit: 1 });
    expect(shadow.items[0]?.role).toBe('shadow');
    const unreviewed = await queries.listDetections({ verdict: 'unreviewed', limit: 500 });
    expect(unreviewed.items.every((d) => d.review === null)).toBe(true);
  });

  it('shows models with versions, deployment history and shadow agreement', async () => {
    const models = await queries.listModels();
    expect(models.map((m) => m.name)).toEqual(['weld']);
    const weld = await queries.getModel('weld');
    expect(weld!.versions.map((v) => [v.version, v.status])).toEqual([
      ['1.0.0', 'live'],
      ['1.1.0', 'retired'],
      ['2.0.0', 'registered'],
    ]);
    expect(weld!.deployments.map((d) => d.kind)).toEqual([
      'deployed',
      'shadow-deployed',
      'deployed',
      'traffic-shifted',
      'rolled-back',
      'retired',
      'shadow-stopped',
    ]);
    const [agreement] = weld!.shadowAgreement;
    expect(agreement!.shadowVersion).toBe('2.0.0');
    expect(agreement!.inspections).toBeGreaterThan(0);
    expect(agreement!.pooledAgreement).toBeGreaterThan(0.3);
    expect(agreement!.pooledAgreement).toBeLessThan(1);
    expect(await queries.getModel('nope')).toBeNull();
  });

  it('reports review and daily defect statistics consistent with the detections', async () => {
    const stats = await queries.reviewStats();
    const { rows } = await fx.pool.query(
      `SELECT class_name, count(*) FILTER (WHERE verdict = 'confirmed')::int AS confirmed FROM read.detections WHERE role = 'live' GROUP BY 1`,
    );
    for (const s of stats) expect(s.confirmed).toBe(rows.find((r) => r.class_name === s.className)?.confirmed ?? 0);
    const daily = await queries.dailyDefectStats();
    const total = daily.reduce((sum, d) => sum + d.detections, 0);
    const live = await fx.pool.query(`SELECT count(*)::int AS n FROM read.detections WHERE role = 'live'`);
    expect(total).toBe(live.rows[0].n);
    expect(daily.every((d) => /^\d{4}-\d{2}-\d{2}$/.test(d.day) && d.meanScore! > 0 && d.meanScore! <= 1)).toBe(true);
  });

  it('filters the audit trail and pages in both directions', async () => {
    const rita = await allPages((cursor) => queries.auditTrail({ actor: 'rita', order: 'asc', limit: 9, cursor }), 9);
    expect(rita.length).toBeGreaterThan(0);
    expect(rita.every((r) => r.actor === 'rita')).toBe(true);
    const ascending = rita.map((r) => r.position);
    expect(ascending).toEqual([...ascending].sort((a, b) => a - b));
    const newest = await queries.auditTrail({ limit: 3 });
    expect(newest.items.map((r) => r.position)).toEqual([...newest.items.map((r) => r.position)].sort((a, b) => b - a));
    const stream = await queries.auditTrail({ streamId: 'model-weld', order: 'asc' });
    expect(stream.items.map((r) => r.type).slice(0, 3)).toEqual([
      'ModelRegistered',
      'ModelRegistered',
      'ModelRegistered',
    ]);
  });

  it('reports each projection at the head with no lag', async () => {
    const head = await fx.store.headPosition();
    const status = await queries.projectionStatus();
    expect(status.map((s) => s.name).sort()).toEqual(readModelProjections.map((p) => p.name).sort());
    expect(status.every((s) => s.checkpoint === head && s.lag === 0 && s.generation === 1)).toBe(true);
  });

  it('returns exactly what the published response schemas describe, no field more or less', async () => {
    // zod drops keys a schema does not name, so "parses to itself" means: valid, and nothing undocumented.
    const conforms = (schema: z.ZodType, value: unknown) => expect(schema.parse(value)).toEqual(value);
    const files = await queries.listFiles({ includeDeleted: true, limit: 500 });
    expect(files.items.some((f) => f.deleted) && files.items.some((f) => !f.deleted)).toBe(true);
    for (const file of files.items) conforms(FileRow, file);
    const inspections = await queries.listInspections({ limit: 500 });
    for (const inspection of inspections.items) conforms(InspectionRow, inspection);
    let boxes = 0;
    let reviews = 0;
    for (const { inspectionId } of inspections.items) {
      const detail = await queries.getInspection(inspectionId);
      conforms(InspectionDetail, detail);
      boxes += detail!.detections.length;
      reviews += detail!.reviews.length;
    }
    expect(boxes).toBeGreaterThan(0);
    expect(reviews).toBeGreaterThan(0);
    const models = await queries.listModels();
    for (const model of models) {
      conforms(ModelRow, model);
      conforms(ModelDetail, await queries.getModel(model.name));
    }
    conforms(ReviewStatsRows, { items: await queries.reviewStats() });
    conforms(DailyDefectRows, { items: await queries.dailyDefectStats() });
    for (const entry of (await queries.auditTrail({ limit: 500 })).items) conforms(AuditEntry, entry);
  });

  it('refuses bad input with a typed error', async () => {
    await expect(queries.listFiles({ limit: 0 })).rejects.toBeInstanceOf(InvalidQueryError);
    await expect(queries.listFiles({ limit: 501 })).rejects.toBeInstanceOf(InvalidQueryError);
    await expect(queries.listInspections({ status: 'bogus' as never })).rejects.toBeInstanceOf(InvalidQueryError);
    await expect(queries.listDetections({ cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(InvalidQueryError);
    await expect(queries.auditTrail({ from: 'yesterday-ish' })).rejects.toBeInstanceOf(InvalidQueryError);
    // A cursor from another endpoint has the wrong shape.
    const files = await queries.listFiles({ limit: 1 });
    await expect(queries.listDetections({ cursor: files.nextCursor! })).rejects.toBeInstanceOf(InvalidQueryError);
    // Values are parameters, never SQL.
    expect((await queries.auditTrail({ actor: "rita' OR '1'='1" })).items).toEqual([]);
  });
});
