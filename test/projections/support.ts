import pg from 'pg';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import type { Projection, ProjectionLogger } from '../../projections/projection.js';
import { ProjectionRunner } from '../../projections/runner.js';
import { qualified } from '../../projections/sql.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';

export interface LogFixture {
  readonly db: TestDatabase;
  readonly pool: pg.Pool;
  readonly store: PostgresEventStore;
  close(): Promise<void>;
}

/** A fresh database with the event store migrated; the real Postgres store writes the events. */
export async function createLogFixture(poolSize = 8): Promise<LogFixture> {
  const db = await createTestDatabase('chitti_proj');
  const pool = new pg.Pool({ connectionString: db.url, max: poolSize });
  // Dropping the database terminates idle connections (57P01); nothing else may go unreported.
  pool.on('error', (error: Error & { code?: string }) => {
    if (error.code !== '57P01') throw error;
  });
  await migrate(pool);
  const store = new PostgresEventStore(pool, { safetyPollMs: 500 });
  return {
    db,
    pool,
    store,
    async close() {
      await store.close();
      await pool.end();
      await db.drop();
    },
  };
}

export interface LoggedLine {
  level: 'info' | 'warn' | 'error';
  object: object;
  message: string;
}

export function recordingLogger(): ProjectionLogger & { lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  return {
    lines,
    info: (object, message) => lines.push({ level: 'info', object, message }),
    warn: (object, message) => lines.push({ level: 'warn', object, message }),
    error: (object, message) => lines.push({ level: 'error', object, message }),
  };
}

/** Every row of a read-model view, each as canonical JSON, sorted: equal models give equal lists. */
export async function viewRows(db: pg.Pool | pg.ClientBase, table: string): Promise<string[]> {
  const { rows } = await db.query(`SELECT to_jsonb(t) AS row FROM ${qualified(table)} t`);
  return rows.map((r) => JSON.stringify(sortKeys(r.row))).sort();
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

export async function snapshot(db: pg.Pool, projections: readonly Projection[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const p of projections) for (const t of p.tables) out[t.name] = await viewRows(db, t.name);
  return out;
}

/** Runs the projections until they have applied the whole log, then stops them. */
export async function projectToHead(
  fx: LogFixture,
  projections: readonly Projection[],
  options: { batchSize?: number } = {},
): Promise<void> {
  const runner = new ProjectionRunner({
    pool: fx.pool,
    log: fx.store,
    projections,
    logger: recordingLogger(),
    batchSize: options.batchSize ?? 100,
    retries: 0,
  });
  await runner.start();
  try {
    await runner.caughtUp();
  } finally {
    await runner.stop();
  }
}

/** Appends one event to a stream with `any` expected version. */
export async function emit(
  fx: LogFixture,
  streamId: string,
  type: string,
  data: unknown,
  actor = 'alice',
  correlationId?: string,
) {
  return fx.store.append(streamId, [{ type, data, metadata: { actor, ...(correlationId ? { correlationId } : {}) } }], {
    expectedVersion: 'any',
  });
}

export async function rowsOf(fx: LogFixture, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  return (await fx.pool.query(sql, params)).rows;
}
