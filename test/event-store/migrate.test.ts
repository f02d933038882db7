import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, MigrationError, migrate } from '../../infra/postgres/migrate.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';

const MIGRATIONS = join(dirname(fileURLToPath(import.meta.url)), '../../infra/postgres/migrations');

describe('migrations', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let dir: string;

  beforeAll(async () => {
    database = await createTestDatabase('chitti_mig');
    pool = new pg.Pool({ connectionString: database.url, max: 10 });
    dir = await mkdtemp(join(tmpdir(), 'chitti-migrations-'));
  });
  afterAll(async () => {
    await pool.end();
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('concurrent starts apply each event-store migration exactly once', async () => {
    await Promise.all(Array.from({ length: 5 }, () => migrate(pool)));
    const { rows } = await pool.query<{ version: number }>('SELECT version FROM chitti_migrations ORDER BY version');
    // Each file of infra/postgres/migrations exactly once, whatever number of them there are.
    const files = (await readdir(MIGRATIONS)).filter((f) => f.endsWith('.sql')).sort();
    expect(files.length).toBeGreaterThanOrEqual(5);
    expect(rows.map((r) => r.version)).toEqual(files.map((f) => Number.parseInt(f, 10)));
    const tables = await pool.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['events', 'streams', 'event_log_head', 'idempotency_keys', 'seals']),
    );
    await migrate(pool);
  });

  it('applies new files in order, one transaction each, and a failing file leaves nothing behind', async () => {
    await writeFile(join(dir, '001_first.sql'), 'CREATE TABLE mig_a (id int);');
    await writeFile(join(dir, '002_second.sql'), 'CREATE TABLE mig_b (id int);');
    expect(await applyMigrations(pool, dir, 'other_migrations')).toEqual([1, 2]);
    expect(await applyMigrations(pool, dir, 'other_migrations')).toEqual([]);

    await writeFile(join(dir, '003_broken.sql'), 'CREATE TABLE mig_c (id int); SELECT no_such_column FROM mig_a;');
    await expect(applyMigrations(pool, dir, 'other_migrations')).rejects.toBeInstanceOf(MigrationError);
    const leftover = await pool.query(`SELECT to_regclass('mig_c') AS t`);
    expect(leftover.rows[0].t).toBeNull();
    await rm(join(dir, '003_broken.sql'));
  });

  it('refuses an applied migration whose file changed', async () => {
    await writeFile(join(dir, '002_second.sql'), 'CREATE TABLE mig_b (id bigint);');
    await expect(applyMigrations(pool, dir, 'other_migrations')).rejects.toThrow(/changed after it was applied/);
  });

  it('refuses an unsafe table name', async () => {
    await expect(applyMigrations(pool, dir, 'x; DROP TABLE events')).rejects.toBeInstanceOf(MigrationError);
  });
});
