import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type pg from 'pg';

/**
 * Backup and restore of what cannot be derived: the event store's tables (events, streams, the
 * position counter, seals, idempotency keys, worker checkpoints), the relay's and consumers'
 * bookkeeping and the API's tokens and idempotent requests, plus the blobs. Read models and the
 * search index are not backed up: they are rebuilt from the restored log.
 *
 * Tables are found, not listed: every table of the schemas below (migration bookkeeping aside),
 * copied row by row as JSON by column name, so a column added by a later migration travels
 * without a change here.
 */
export const SOURCE_SCHEMAS = ['public', 'kafka_integration', 'api'] as const;
const EVENTS = 'public.events';
export const BACKUP_FORMAT = 'chitti-backup/1';
const FETCH_ROWS = 2_000;

export interface BackupManifest {
  readonly format: typeof BACKUP_FORMAT;
  /** Every table is as of this global position: the log up to it, the rest from the same snapshot. */
  readonly position: number;
  readonly events: number;
  readonly eventChunks: readonly FileEntry[];
  readonly tables: readonly (FileEntry & { table: string })[];
  readonly blobs: number;
  readonly completedAt: string;
}

interface FileEntry {
  readonly file: string;
  readonly rows: number;
  readonly sha256: string;
}

export interface BackupResult {
  readonly position: number;
  readonly events: number;
  /** Events written by this run (the rest came from an interrupted or earlier run). */
  readonly newEvents: number;
  readonly blobsCopied: number;
  readonly durationMs: number;
}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;
const qualifiedName = (table: string) => table.split('.').map(quoteIdent).join('.');

/** The tables to back up, parents before children is not needed: restore defers nothing, there are no foreign keys across them. */
export async function sourceTables(db: pg.Pool | pg.ClientBase): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT table_schema || '.' || table_name AS name FROM information_schema.tables
      WHERE table_schema = ANY($1) AND table_type = 'BASE TABLE' AND table_name NOT LIKE '%migrations'
      ORDER BY 1`,
    [SOURCE_SCHEMAS],
  );
  return rows.map((r) => r.name);
}

/** Streams a query's rows (one JSON text each) through a cursor into a gzip file, atomically. */
async function dumpQuery(
  tx: pg.ClientBase,
  sql: string,
  params: unknown[],
  path: string,
  maxRows = Number.POSITIVE_INFINITY,
): Promise<{ rows: number; sha256: string; lastPosition: number | undefined }> {
  const temporary = `${path}.partial`;
  const gzip = createGzip({ level: 3 });
  const hash = createHash('sha256');
  gzip.on('data', (chunk: Buffer) => hash.update(chunk));
  const done = pipeline(gzip, createWriteStream(temporary));
  await tx.query(`DECLARE dump NO SCROLL CURSOR FOR ${sql}`, params);
  let rows = 0;
  let lastPosition: number | undefined;
  try {
    while (rows < maxRows) {
      const batch = await tx.query<{ line: string; position?: string }>(
        `FETCH ${Math.min(FETCH_ROWS, maxRows - rows)} FROM dump`,
      );
      if (batch.rows.length === 0) break;
      for (const row of batch.rows) if (!gzip.write(`${row.line}\n`)) await once(gzip, 'drain');
      rows += batch.rows.length;
      const last = batch.rows.at(-1)?.position;
      if (last !== undefined) lastPosition = Number(last);
    }
  } finally {
    await tx.query('CLOSE dump');
  }
  gzip.end();
  await done;
  await rename(temporary, path);
  return { rows, sha256: hash.digest('hex'), lastPosition };
}

/** Event chunks already complete in `dir`: `events/<from>-<to>.ndjson.gz`, by position. */
async function completeChunks(dir: string): Promise<{ file: string; from: number; to: number }[]> {
  const names = await readdir(join(dir, 'events')).catch(() => [] as string[]);
  return names
    .map((name) => /^(\d{20})-(\d{20})\.ndjson\.gz$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ file: `events/${m[0]}`, from: Number(m[1]), to: Number(m[2]) }))
    .sort((a, b) => a.from - b.from);
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function* walk(dir: string): AsyncGenerator<string> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile() && !entry.name.endsWith('.tmp')) yield path;
  }
}

/** Copies files missing (or of another size) at the target; blobs are content-addressed and immutable. */
async function copyMissing(from: string, to: string): Promise<{ total: number; copied: number }> {
  let total = 0;
  let copied = 0;
  for await (const source of walk(from)) {
    total++;
    const target = join(to, relative(from, source));
    const [a, b] = await Promise.all([stat(source), stat(target).catch(() => undefined)]);
    if (b?.size === a.size) continue;
    await mkdir(dirname(target), { recursive: true });
    await copyFile(source, `${target}.tmp`);
    await rename(`${target}.tmp`, target);
    copied++;
  }
  return { total, copied };
}

/**
 * Writes a backup to `dir`, consistent at one global position, streaming (a cursor into gzip, never
 * the whole log in memory) and resumable: the log is append-only, so event chunks completed by an
 * interrupted or earlier run into the same folder stay valid and only later events are read; every
 * other table is taken from the same snapshot as the last chunk, so all agree on one position.
 */
export async function backup(
  pool: pg.Pool,
  options: { dir: string; blobsDir: string; chunkEvents?: number },
): Promise<BackupResult> {
  const started = Date.now();
  const { dir } = options;
  const chunkEvents = options.chunkEvents ?? 100_000;
  await mkdir(join(dir, 'events'), { recursive: true });
  await mkdir(join(dir, 'tables'), { recursive: true });
  const chunks = await completeChunks(dir);
  const backedUp = chunks.at(-1)?.to ?? 0;
  const tx = await pool.connect();
  let position: number;
  let newEvents = 0;
  const tables: (FileEntry & { table: string })[] = [];
  try {
    await tx.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    position = Number(
      (await tx.query<{ p: string }>(`SELECT coalesce(max(global_position), 0) AS p FROM ${EVENTS}`)).rows[0]!.p,
    );
    let after = backedUp;
    while (after < position) {
      const path = join(dir, 'events', 'chunk');
      const written = await dumpQuery(
        tx,
        `SELECT row_to_json(e)::text AS line, e.global_position AS position FROM ${EVENTS} e
          WHERE e.global_position > $1 AND e.global_position <= $2 ORDER BY e.global_position`,
        [after, position],
        path,
        chunkEvents,
      );
      if (written.rows === 0 || written.lastPosition === undefined) break;
      const name = `${String(after + 1).padStart(20, '0')}-${String(written.lastPosition).padStart(20, '0')}.ndjson.gz`;
      await rename(path, join(dir, 'events', name));
      newEvents += written.rows;
      after = written.lastPosition;
    }
    for (const table of await sourceTables(tx)) {
      if (table === EVENTS) continue;
      const file = `tables/${table}.ndjson.gz`;
      const written = await dumpQuery(
        tx,
        `SELECT row_to_json(t)::text AS line FROM ${qualifiedName(table)} t`,
        [],
        join(dir, file),
      );
      tables.push({ table, file, rows: written.rows, sha256: written.sha256 });
    }
    await tx.query('COMMIT');
  } catch (error) {
    await tx.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    tx.release();
  }
  // After the snapshot: every blob an event up to `position` names was stored before its event.
  const blobs = await copyMissing(options.blobsDir, join(dir, 'blobs'));
  const eventChunks: FileEntry[] = [];
  let events = 0;
  for (const chunk of await completeChunks(dir)) {
    const path = join(dir, chunk.file);
    let rows = 0;
    for await (const _line of createInterface({ input: createReadStream(path).pipe(createGunzip()) })) rows++;
    eventChunks.push({ file: chunk.file, rows, sha256: await fileSha256(path) });
    events += rows;
  }
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    position,
    events,
    eventChunks,
    tables,
    blobs: blobs.total,
    completedAt: new Date().toISOString(),
  };
  // Written last: a folder without a manifest (or with an older one) is an unfinished backup.
  await writeFile(join(dir, 'manifest.json.partial'), `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(join(dir, 'manifest.json.partial'), join(dir, 'manifest.json'));
  return { position, events, newEvents, blobsCopied: blobs.copied, durationMs: Date.now() - started };
}

export class RestoreRefusedError extends Error {}

/** Inserts a gzip NDJSON file's rows into `table` in batches, columns matched by name. */
async function loadRows(tx: pg.ClientBase, table: string, path: string, batchRows: number): Promise<number> {
  let batch: string[] = [];
  let rows = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await tx.query(
      `INSERT INTO ${qualifiedName(table)} SELECT * FROM json_populate_recordset(NULL::${qualifiedName(table)}, $1::json)`,
      [`[${batch.join(',')}]`],
    );
    rows += batch.length;
    batch = [];
  };
  for await (const line of createInterface({
    input: createReadStream(path).pipe(createGunzip()),
    crlfDelay: Infinity,
  })) {
    if (line === '') continue;
    batch.push(line);
    if (batch.length >= batchRows) await flush();
  }
  await flush();
  return rows;
}

/**
 * Restores a backup into a database that holds no events yet (migrated, or migrated here by the
 * caller), in one transaction: all of it or nothing. Checks every file against the manifest first.
 */
export async function restore(
  pool: pg.Pool,
  options: { dir: string; blobsDir: string; batchRows?: number },
): Promise<{ position: number; events: number; blobs: number; durationMs: number }> {
  const started = Date.now();
  const { dir } = options;
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as BackupManifest;
  } catch (error) {
    throw new RestoreRefusedError(`${dir} holds no finished backup (manifest.json: ${(error as Error).message})`);
  }
  if (manifest.format !== BACKUP_FORMAT) throw new RestoreRefusedError(`unknown backup format '${manifest.format}'`);
  for (const entry of [...manifest.eventChunks, ...manifest.tables]) {
    if ((await fileSha256(join(dir, entry.file))) !== entry.sha256)
      throw new RestoreRefusedError(`${entry.file} does not match the manifest (damaged or altered backup)`);
  }
  const tx = await pool.connect();
  let events = 0;
  try {
    await tx.query('BEGIN');
    const existing = await tx.query(`SELECT 1 FROM ${EVENTS} LIMIT 1`);
    if (existing.rowCount)
      throw new RestoreRefusedError('the target database already holds events: restore into an empty one');
    const present = new Set(await sourceTables(tx));
    for (const { table, file } of manifest.tables) {
      if (!present.has(table))
        throw new RestoreRefusedError(`table ${table} of the backup does not exist here (older Chitti?)`);
      // Rows the migrations seeded (the position counter) are replaced by the backed-up ones.
      await tx.query(`DELETE FROM ${qualifiedName(table)}`);
      await loadRows(tx, table, join(dir, file), options.batchRows ?? 5_000);
    }
    for (const chunk of manifest.eventChunks)
      events += await loadRows(tx, EVENTS, join(dir, chunk.file), options.batchRows ?? 5_000);
    if (events !== manifest.events)
      throw new RestoreRefusedError(`restored ${events} events, the manifest says ${manifest.events}`);
    await tx.query('COMMIT');
  } catch (error) {
    await tx.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    tx.release();
  }
  const blobs = await copyMissing(join(dir, 'blobs'), options.blobsDir);
  return { position: manifest.position, events, blobs: blobs.total, durationMs: Date.now() - started };
}
