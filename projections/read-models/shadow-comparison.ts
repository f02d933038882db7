import { z } from 'zod';
import type { RecordedEvent } from '../../schemas/events/index.js';
import type { Projection, TableNames } from '../projection.js';
import { addToCounters, type Tx, upsertRows } from '../sql.js';
import { col, defineTable } from '../table.js';
import { compareDetections } from './agreement.js';
import { decode } from './decode.js';

/** Every model run per inspection, kept so a run can be compared whichever of live and shadow comes first. */
export const modelRunsTable = defineTable(
  'model_runs',
  {
    inspection_id: col.text(),
    role: col.oneOf(['live', 'shadow']),
    model_name: col.text(),
    model_version: col.text(),
    boxes: col.jsonb(
      z.array(z.object({ className: z.string(), x1: z.number(), y1: z.number(), x2: z.number(), y2: z.number() })),
    ),
    recorded_at: col.timestamptz(),
    position: col.bigint(),
  },
  { primaryKey: ['inspection_id', 'role', 'model_name', 'model_version'] },
);
type Run = typeof modelRunsTable.Row;

/** Per inspection and shadow version: how well the shadow agreed with the live model. */
export const shadowComparisonsTable = defineTable(
  'shadow_comparisons',
  {
    inspection_id: col.text(),
    shadow_name: col.text(),
    shadow_version: col.text(),
    live_name: col.text(),
    live_version: col.text(),
    live_boxes: col.integer(),
    shadow_boxes: col.integer(),
    matched: col.integer(),
    agreement: col.double(),
    compared_at: col.timestamptz(),
    position: col.bigint(),
  },
  {
    primaryKey: ['inspection_id', 'shadow_name', 'shadow_version'],
    indexes: ['(shadow_name, shadow_version, position)'],
  },
);
type ComparisonRow = typeof shadowComparisonsTable.Row;

/**
 * Per shadow version over all its comparisons. Pooled rate = 2·matched / (live_boxes + shadow_boxes);
 * mean rate = agreement_sum_micro / 1e6 / inspections. `failures` counts inspections where the
 * shadow gave no detections (ShadowInferenceFailed); they are not in the rates.
 */
export const shadowAgreementTable = defineTable(
  'shadow_agreement',
  {
    shadow_name: col.text(),
    shadow_version: col.text(),
    inspections: col.integer(),
    live_boxes: col.integer(),
    shadow_boxes: col.integer(),
    matched: col.integer(),
    /** Σ per-inspection rate in millionths: integers add up the same in any batch split. */
    agreement_sum_micro: col.bigint(),
    failures: col.integer(),
  },
  { primaryKey: ['shadow_name', 'shadow_version'] },
);
type TotalRow = typeof shadowAgreementTable.Row;

const runKey = (r: Pick<Run, 'inspection_id' | 'role' | 'model_name' | 'model_version'>) =>
  `${r.inspection_id}\u0000${r.role}\u0000${r.model_name}\u0000${r.model_version}`;

const versionKey = (r: { shadow_name: string; shadow_version: string }) => `${r.shadow_name}\u0000${r.shadow_version}`;

const emptyTotal = (shadow_name: string, shadow_version: string): TotalRow => ({
  shadow_name,
  shadow_version,
  inspections: 0,
  live_boxes: 0,
  shadow_boxes: 0,
  matched: 0,
  agreement_sum_micro: 0,
  failures: 0,
});

async function apply(tx: Tx, events: readonly RecordedEvent[], tables: TableNames): Promise<void> {
  const runs: Run[] = [];
  const totals = new Map<string, TotalRow>();
  const totalOf = (shadow_name: string, shadow_version: string) => {
    const key = versionKey({ shadow_name, shadow_version });
    const total = totals.get(key) ?? emptyTotal(shadow_name, shadow_version);
    totals.set(key, total);
    return total;
  };
  for (const event of events) {
    const { domain } = decode(event);
    if (domain.type === 'ShadowInferenceFailed') {
      const total = totalOf(domain.data.model.name, domain.data.model.version);
      total.failures += 1;
      continue;
    }
    if (domain.type !== 'DetectionsRecorded') continue;
    const d = domain.data;
    runs.push({
      inspection_id: d.inspectionId,
      role: d.role,
      model_name: d.model.name,
      model_version: d.model.version,
      boxes: d.detections.map((b) => ({ className: b.className, ...b.box })),
      recorded_at: event.recordedAt,
      position: event.globalPosition,
    });
  }
  if (runs.length > 0) await compareRuns(tx, runs, tables, totalOf);
  await addToCounters(
    tx,
    tables('shadow_agreement'),
    shadowAgreementTable,
    ['inspections', 'live_boxes', 'shadow_boxes', 'matched', 'agreement_sum_micro', 'failures'],
    [...totals.values()],
  );
}

/** Stores the runs and compares each with its counterparts, adding the comparisons to the totals. */
async function compareRuns(
  tx: Tx,
  runs: readonly Run[],
  tables: TableNames,
  totalOf: (shadowName: string, shadowVersion: string) => TotalRow,
): Promise<void> {
  // Earlier runs of the same inspections, so a late live run meets its shadows and vice versa.
  const inspectionIds = [...new Set(runs.map((r) => r.inspection_id))];
  const { rows } = await tx.query(
    `SELECT * FROM ${tables('model_runs')} WHERE inspection_id = ANY($1::text[]) ORDER BY position`,
    [inspectionIds],
  );
  const byInspection = new Map<string, Map<string, Run>>();
  const remember = (run: Run) => {
    const known = byInspection.get(run.inspection_id) ?? new Map<string, Run>();
    byInspection.set(run.inspection_id, known);
    known.set(runKey(run), run);
  };
  for (const row of rows) remember(modelRunsTable.read(row));

  const comparisons = new Map<string, ComparisonRow>();
  const compare = (live: Run, shadow: Run, at: RecordedEvent['recordedAt'], position: number) => {
    const result = compareDetections(live.boxes, shadow.boxes);
    comparisons.set(`${shadow.inspection_id}\u0000${shadow.model_name}\u0000${shadow.model_version}`, {
      inspection_id: shadow.inspection_id,
      shadow_name: shadow.model_name,
      shadow_version: shadow.model_version,
      live_name: live.model_name,
      live_version: live.model_version,
      live_boxes: result.liveBoxes,
      shadow_boxes: result.shadowBoxes,
      matched: result.matched,
      agreement: result.rate,
      compared_at: at,
      position,
    });
  };
  for (const run of runs) {
    const known = [...(byInspection.get(run.inspection_id)?.values() ?? [])];
    if (run.role === 'shadow') {
      const live = known.filter((r) => r.role === 'live').at(-1);
      if (live) compare(live, run, run.recorded_at, run.position);
    } else {
      for (const shadow of known.filter((r) => r.role === 'shadow'))
        compare(run, shadow, run.recorded_at, run.position);
    }
    remember(run);
  }

  await upsertRows(
    tx,
    tables('model_runs'),
    modelRunsTable,
    runs.map((r) => ({ ...r })),
  );
  if (comparisons.size === 0) return;
  // A re-run replaces an inspection's comparison: take the old one out of the aggregate first.
  const replaced = await tx.query(
    `SELECT c.* FROM ${tables('shadow_comparisons')} c
       JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(inspection_id, shadow_name, shadow_version)
         USING (inspection_id, shadow_name, shadow_version)`,
    [
      [...comparisons.values()].map((c) => c.inspection_id),
      [...comparisons.values()].map((c) => c.shadow_name),
      [...comparisons.values()].map((c) => c.shadow_version),
    ],
  );
  const add = (c: ComparisonRow, sign: 1 | -1) => {
    const total = totalOf(c.shadow_name, c.shadow_version);
    total.inspections += sign;
    for (const column of ['live_boxes', 'shadow_boxes', 'matched'] as const) total[column] += sign * c[column];
    total.agreement_sum_micro += sign * Math.round(c.agreement * 1e6);
  };
  for (const old of replaced.rows) add(shadowComparisonsTable.read(old), -1);
  for (const c of comparisons.values()) add(c, 1);
  await upsertRows(tx, tables('shadow_comparisons'), shadowComparisonsTable, [...comparisons.values()]);
}

export const shadowComparisonProjection: Projection = {
  name: 'shadow_comparison',
  version: 2,
  tables: [modelRunsTable, shadowComparisonsTable, shadowAgreementTable],
  handles: new Set(['DetectionsRecorded', 'ShadowInferenceFailed']),
  apply,
};
