import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

/** The event store's own migrations. */
export const EVENT_STORE_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

const MIGRATION_FILE = /^(\d{3,})_([a-z0-9_]+)\.sql$/;
const TABLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** First half of the two-key advisory lock that serialises migration runs; the second is the table's hash. */
const MIGRATION_LOCK_NAMESPACE = 0x63686d67; // 'chmg'

export interface MigrationFile {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

export class MigrationError extends Error {
  readonly code = 'migration-failed';
}

/** Applies the event store's migrations (idempotent, safe to call from several processes at once). */
export async function migrate(pool: pg.Pool): Promise<void> {
  await applyMigrations(pool, EVENT_STORE_MIGRATIONS_DIR, 'chitti_migrations');
}

/** Reads `NNN_name.sql` files from `dir`, ordered by version; versions must be unique. */
export async function readMigrationFiles(dir: string): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  const files: MigrationFile[] = [];
  for (const fileName of names) {
    const match = MIGRATION_FILE.exec(fileName);
    if (!match) throw new MigrationError(`migration file ${fileName} is not named NNN_lower_snake.sql`);
    const sql = await readFile(join(dir, fileName), 'utf8');
    files.push({
      version: Number(match[1]),
      name: match[2]!,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  files.sort((a, b) => a.version - b.version);
  for (let i = 1; i < files.length; i++) {
    if (files[i]!.version === files[i - 1]!.version) {
      throw new MigrationError(`two migrations in ${dir} have version ${files[i]!.version}`);
    }
  }
  return files;
}

/**
 * Applies every migration in `dir` not yet recorded in `table`, each in its own transaction.
 * A session advisory lock per table serialises concurrent starts; an applied file whose content
 * changed since is refused rather than silently ignored.
 * @returns the versions applied by this call
 */
export async function applyMigrations(pool: pg.Pool, dir: string, table = 'chitti_migrations'): Promise<number[]> {
  if (!TABLE_NAME.test(table)) throw new MigrationError(`invalid migrations table name '${table}'`);
  const files = await readMigrationFiles(dir);
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [MIGRATION_LOCK_NAMESPACE, table]);
    try {
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${table} (
           version integer PRIMARY KEY,
           name text NOT NULL,
           checksum text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const { rows } = await client.query<{ version: number; name: string; checksum: string }>(
        `SELECT version, name, checksum FROM ${table}`,
      );
      const applied = new Map(rows.map((row) => [row.version, row]));
      const done: number[] = [];
      for (const file of files) {
        const previous = applied.get(file.version);
        if (previous) {
          if (previous.checksum !== file.checksum) {
            throw new MigrationError(
              `migration ${file.version}_${file.name} changed after it was applied (as ${previous.name}); add a new migration instead`,
            );
          }
          continue;
        }
        await client.query('BEGIN');
        try {
          await client.query(file.sql);
          await client.query(`INSERT INTO ${table} (version, name, checksum) VALUES ($1, $2, $3)`, [
            file.version,
            file.name,
            file.checksum,
          ]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new MigrationError(`migration ${file.version}_${file.name} failed: ${(error as Error).message}`, {
            cause: error,
          });
        }
        done.push(file.version);
      }
      return done;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [MIGRATION_LOCK_NAMESPACE, table]);
    }
  } catch (error) {
    broken = !(error instanceof MigrationError);
    throw error;
  } finally {
    client.release(broken);
  }
}
