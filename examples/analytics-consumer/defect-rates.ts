import type pg from 'pg';

/** The hour bucket (UTC) of an RFC 3339 time: `2026-11-23T09:41:07Z` → `2026-11-23T09:00:00.000Z`. */
export function hourOf(time: string): string {
  const at = new Date(time);
  if (Number.isNaN(at.getTime())) throw new RangeError(`not a time: ${time}`);
  at.setUTCMinutes(0, 0, 0);
  return at.toISOString();
}

/** Distinct class names among an inspection's live detections, sorted. */
export function defectClassesOf(detections: readonly { className: string }[]): string[] {
  return [...new Set(detections.map((d) => d.className))].sort();
}

export interface DefectRate {
  readonly hour: string;
  readonly className: string;
  /** Inspections of that hour with at least one detection of the class. */
  readonly inspectionsWithClass: number;
  /** Inspections with a live result in that hour. */
  readonly inspections: number;
  readonly rate: number;
}

/**
 * The consumer's own read model, in its own schema: one row per inspection (its hour and the
 * classes the live model found), so a re-run inspection replaces its row instead of counting twice.
 */
export async function migrateDefectRates(pool: pg.Pool): Promise<void> {
  await pool.query('CREATE SCHEMA IF NOT EXISTS analytics');
  await pool.query(`CREATE TABLE IF NOT EXISTS analytics.inspection_results (
    inspection_id text PRIMARY KEY,
    hour timestamptz NOT NULL,
    classes text[] NOT NULL
  )`);
  // Its own dedupe ledger: the CloudEvents id of every message applied.
  await pool.query(`CREATE TABLE IF NOT EXISTS analytics.processed_events (
    event_id text PRIMARY KEY,
    processed_at timestamptz NOT NULL DEFAULT now()
  )`);
}

export async function recordInspectionResult(
  tx: pg.ClientBase,
  result: { inspectionId: string; hour: string; classes: readonly string[] },
): Promise<void> {
  await tx.query(
    `INSERT INTO analytics.inspection_results (inspection_id, hour, classes) VALUES ($1, $2, $3)
     ON CONFLICT (inspection_id) DO UPDATE SET hour = EXCLUDED.hour, classes = EXCLUDED.classes`,
    [result.inspectionId, result.hour, result.classes],
  );
}

/** Defect rate per class per hour, oldest hour first. */
export async function defectRates(db: pg.Pool | pg.ClientBase): Promise<DefectRate[]> {
  const { rows } = await db.query<{ hour: Date; class_name: string; with_class: number; total: number }>(
    `WITH totals AS (SELECT hour, count(*)::int AS total FROM analytics.inspection_results GROUP BY hour)
     SELECT r.hour, c.class_name, count(*)::int AS with_class, t.total
       FROM analytics.inspection_results r
       CROSS JOIN LATERAL unnest(r.classes) AS c(class_name)
       JOIN totals t ON t.hour = r.hour
      GROUP BY r.hour, c.class_name, t.total
      ORDER BY r.hour, c.class_name`,
  );
  return rows.map((r) => ({
    hour: r.hour.toISOString(),
    className: r.class_name,
    inspectionsWithClass: r.with_class,
    inspections: r.total,
    rate: r.with_class / r.total,
  }));
}
