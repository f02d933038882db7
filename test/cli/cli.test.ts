import { randomBytes } from 'node:crypto';
import { access, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { generateWriterKey, parseWriterKeys } from '../../infra/sealing/writer-keys.js';
import { isolatedEnv, runChitti } from '../e2e/support.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';

let db: TestDatabase;
let pool: pg.Pool;
let env: NodeJS.ProcessEnv;
let dataDir: string;

const uploaded = (fileId: string) => ({
  type: 'FileUploaded',
  data: {
    fileId,
    sha256: 'a'.repeat(64),
    sizeBytes: 10,
    mediaType: 'image/png',
    width: 4,
    height: 4,
    bitDepth: 8,
    channels: 1,
    originalName: `${fileId}.png`,
    uploadedBy: 'op',
    tags: [],
  },
  metadata: { actor: 'op' },
});

const writerKeys = generateWriterKey().secret.toString('base64url');

beforeAll(async () => {
  db = await createTestDatabase('chitti_cli');
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  await migrate(pool);
  const store = new PostgresEventStore(pool, { writerKeys: parseWriterKeys(writerKeys, 'test') });
  for (const id of ['f1', 'f2', 'f3'])
    await store.append(`file-${id}`, [uploaded(id)], { expectedVersion: 'no_stream' });
  await store.close();
  dataDir = await mkdtemp(join(tmpdir(), 'chitti-cli-'));
  env = isolatedEnv({
    DATABASE_URL: db.url,
    CHITTI_DATA_DIR: dataDir,
    SEAL_MAX_UNSEALED_SECONDS: '3600',
    LOG_LEVEL: 'warn',
    // The writer keys every process of this install shares (the events above were appended with them).
    WRITER_KEYS: writerKeys,
  });
});

afterAll(async () => {
  await pool.end();
  await db.drop();
  await rm(dataDir, { recursive: true, force: true });
});

const reportOf = (output: string) => JSON.parse(output.slice(output.indexOf('{'), output.lastIndexOf('}') + 1));

// Every test starts `chitti` processes (node + tsx transpiling the CLI): on a loaded 2-core machine
// one start took 49 s, so each test gets a deadline for process starts, not the 60 s default.
describe('chitti (CLI)', { timeout: 300_000 }, () => {
  it('lists its commands and refuses unknown ones with exit code 2', async () => {
    const help = await runChitti(['--help'], env);
    expect(help.code).toBe(0);
    expect(help.output).toMatch(/audit\s+verify tamper evidence/);
    const unknown = await runChitti(['frobnicate'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.output).toContain("unknown command 'frobnicate'");
  });

  it('inspect refuses --thresholds that are not a JSON object before uploading anything, with exit code 2', async () => {
    for (const thresholds of ['{"classConfidence":', '[0.3]']) {
      const refused = await runChitti(
        ['inspect', 'no-such-file.png', '--api-key', 'k', '--url', 'http://127.0.0.1:9', '--thresholds', thresholds],
        env,
      );
      expect(refused.code, thresholds).toBe(2);
      expect(refused.output).toMatch(/--thresholds (is not JSON|must be a JSON object)/);
    }
  });

  it('refuses to run without the writer keys of an install whose events carry MACs, and makes up no key', async () => {
    const elsewhere = await mkdtemp(join(tmpdir(), 'chitti-cli-nokeys-'));
    try {
      const { WRITER_KEYS: _shared, ...withoutKeys } = env;
      const refused = await runChitti(['audit', 'verify'], { ...withoutKeys, CHITTI_DATA_DIR: elsewhere });
      expect(refused.code, refused.output).toBe(2);
      expect(refused.output).toContain('WRITER_KEYS');
      await expect(access(join(elsewhere, 'secrets', 'writer-keys'))).rejects.toThrow();
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('exports the log as NDJSON and records the export as an access event', async () => {
    const exported = await runChitti(['audit', 'export'], env);
    expect(exported.code).toBe(0);
    const lines = exported.output
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{"globalPosition"'))
      .map((l) => JSON.parse(l) as { type: string; hash: string; data: { fileId?: string } });
    expect(lines.slice(0, 3).map((l) => l.data.fileId)).toEqual(['f1', 'f2', 'f3']);
    expect(lines.every((l) => /^[a-f0-9]{64}$/.test(l.hash))).toBe(true);
    const access = await pool.query(
      `SELECT data FROM events WHERE type = 'AccessRecorded' AND data->>'action' = 'audit.export'`,
    );
    expect(access.rows).toHaveLength(1);
    expect(access.rows[0].data.actor).toMatch(/^cli:/);
  });

  it('exports without API-key hashes (named in redacted) unless --raw', async () => {
    const secretSha256 = randomBytes(32).toString('hex');
    const store = new PostgresEventStore(pool, { writerKeys: parseWriterKeys(writerKeys, 'test') });
    await store.append(
      'user-u1',
      [
        {
          type: 'UserRegistered',
          data: { userId: 'u1', email: 'u1@example.com', displayName: 'U1', registeredBy: 'op' },
          metadata: { actor: 'op' },
        },
        {
          type: 'ApiKeyIssued',
          data: { userId: 'u1', keyId: 'k1', secretSha256, label: 'l', expiresAt: null, issuedBy: 'op' },
          metadata: { actor: 'op' },
        },
      ],
      { expectedVersion: 'no_stream' },
    );
    await store.close();
    const issuedLine = (output: string) =>
      output
        .split('\n')
        .filter((l) => l.startsWith('{"globalPosition"'))
        .map((l) => JSON.parse(l) as { type: string; data: object; redacted?: string[] })
        .find((l) => l.type === 'ApiKeyIssued');
    const redacted = await runChitti(['audit', 'export'], env);
    expect(redacted.output).not.toContain(secretSha256);
    expect(issuedLine(redacted.output)).toMatchObject({ data: { keyId: 'k1' }, redacted: ['data.secretSha256'] });
    const raw = await runChitti(['audit', 'export', '--raw'], env);
    expect(issuedLine(raw.output)?.data).toMatchObject({ secretSha256 });
  });

  it('audit verify --seal creates the seal key (0600) and anchor, and verifies; the anchor copy catches deleted seals', async () => {
    const intact = await runChitti(['audit', 'verify', '--seal'], env);
    expect(intact.code, intact.output).toBe(0);
    expect(reportOf(intact.output)).toMatchObject({ ok: true, anchoredSealsChecked: 1, sealsChecked: 1 });
    expect((await stat(join(dataDir, 'seal-key.pem'))).mode & 0o777).toBe(0o600);
    const anchor = await runChitti(['audit', 'anchor'], env);
    expect(anchor.code).toBe(0);
    expect(anchor.output).toBe(await readFile(join(dataDir, 'seal-anchor.ndjson'), 'utf8'));
    const keys = await runChitti(['audit', 'seal-keys'], env);
    expect(keys.output).toMatch(/-----BEGIN PUBLIC KEY-----/);

    // An auditor keeps the anchor and the public keys; the data folder's anchor is not needed then.
    const copy = join(dataDir, 'auditor-anchor.ndjson');
    await writeFile(copy, anchor.output);
    const saved = (await pool.query('SELECT * FROM seals')).rows;
    await pool.query('DELETE FROM seals');
    const truncated = await runChitti(['audit', 'verify', '--anchor', copy], env);
    expect(truncated.code).toBe(1);
    expect(reportOf(truncated.output).firstProblem).toMatchObject({ kind: 'truncated', sealNumber: 1 });
    for (const row of saved) {
      await pool.query(`INSERT INTO seals SELECT * FROM json_populate_record(null::seals, $1::json)`, [
        JSON.stringify({ ...row, entries: `\\x${row.entries.toString('hex')}` }),
      ]);
    }
  });

  it('audit verify reports a row forged at exactly head+1 instead of crashing on its own access record', async () => {
    const head = Number((await pool.query('SELECT position FROM event_log_head')).rows[0].position);
    await pool.query(
      `INSERT INTO events (global_position, stream_id, stream_version, event_id, type, schema_version, data, metadata,
                           recorded_at, hash, prev_hash, hash_version)
       SELECT $1, 'file-forged', 1, gen_random_uuid(), type, schema_version, data, metadata, now(), 'x', NULL, 2
         FROM events WHERE global_position = 1`,
      [head + 1],
    );
    try {
      const forged = await runChitti(['audit', 'verify'], env);
      expect(forged.code).toBe(1);
      expect(reportOf(forged.output).firstProblem).toMatchObject({ kind: 'inserted', globalPosition: head + 1 });
      expect(forged.output).toMatch(/could not record this verification.*already holds a row the store did not write/);
    } finally {
      await pool.query('DELETE FROM events WHERE global_position = $1', [head + 1]);
    }
  });

  it('audit verify exits 1 naming the first altered event', async () => {
    await pool.query(
      `UPDATE events SET data = jsonb_set(data, '{originalName}', '"forged.png"') WHERE stream_id = 'file-f2'`,
    );
    const tampered = await runChitti(['audit', 'verify'], env);
    expect(tampered.code).toBe(1);
    const report = JSON.parse(tampered.output.slice(tampered.output.indexOf('{')));
    expect(report.ok).toBe(false);
    expect(report.firstProblem).toMatchObject({ kind: 'altered', streamId: 'file-f2', streamVersion: 1 });
  });

  it('rebuilds every read model and reports their checkpoints', async () => {
    const rebuilt = await runChitti(['projections', 'rebuild', 'all'], env);
    expect(rebuilt.code, rebuilt.output).toBe(0);
    const results = rebuilt.output
      .split('\n')
      .filter((l) => l.startsWith('{"name"'))
      .map((l) => JSON.parse(l) as { name: string; position: number });
    expect(results.map((r) => r.name)).toContain('files');
    const head = Number((await pool.query('SELECT max(global_position) AS p FROM events')).rows[0].p);
    expect(results.every((r) => r.position === head)).toBe(true);
    const files = await pool.query('SELECT file_id FROM read.files ORDER BY file_id');
    expect(files.rows.map((r) => r.file_id)).toEqual(['f1', 'f2', 'f3']);
    const usage = await runChitti(['projections', 'rebuild', 'nonsense'], env);
    expect(usage.code).toBe(2);
  });
});
