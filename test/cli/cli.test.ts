import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { isolatedEnv, runChitti } from '../e2e/support.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';

let db: TestDatabase;
let pool: pg.Pool;
let env: NodeJS.ProcessEnv;

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

beforeAll(async () => {
  db = await createTestDatabase('chitti_cli');
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  await migrate(pool);
  const store = new PostgresEventStore(pool);
  for (const id of ['f1', 'f2', 'f3'])
    await store.append(`file-${id}`, [uploaded(id)], { expectedVersion: 'no_stream' });
  await store.close();
  env = isolatedEnv({ DATABASE_URL: db.url, SEAL_KEY: 'cli-test-seal-key-0123456789', LOG_LEVEL: 'warn' });
});

afterAll(async () => {
  await pool.end();
  await db.drop();
});

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

  it('audit verify exits 0 on an intact log and 1 naming the first altered event', async () => {
    const intact = await runChitti(['audit', 'verify', '--seal'], env);
    expect(intact.code, intact.output).toBe(0);
    expect(JSON.parse(intact.output.slice(intact.output.indexOf('{')))).toMatchObject({ ok: true });

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
