import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresPasswordFileOf } from '../../infra/embedded-postgres.js';
import { computeEventHashV2 } from '../../infra/postgres/event-hash.js';
import type { EventTableRow } from '../../infra/postgres/event-rows.js';
import { rehashStream } from '../event-store/support.js';
import {
  type ChittiProcess,
  freePort,
  isolatedEnv,
  runChitti,
  startChitti,
  stopLeftoverPostgres,
  waitUntilReady,
} from './support.js';

interface VerifyReport {
  ok: boolean;
  problemCount: number;
  sealedUpTo: number;
  writerMacs: string;
  firstProblem?: { kind: string; globalPosition: number };
}

/**
 * The outside tester's attacks as SQL edits on the embedded database of a running `chitti start`, by
 * someone who can edit rows but holds neither the writer key nor the seal key, then `chitti audit
 * verify` as an operator runs it. Whether the sealer got to an event before or after the edit, the
 * outcome must be the same: the edit is named.
 */
describe('tampering with the database under a running chitti start', { timeout: 600_000 }, () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let url: string;
  let chitti: ChittiProcess | undefined;
  let db: pg.Client;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'chitti-e2e-tamper-'));
    await chmod(dataDir, 0o711); // the embedded server's own user must pass through it
    const port = await freePort();
    const pgPort = await freePort();
    url = `http://127.0.0.1:${port}`;
    env = isolatedEnv({ CHITTI_DATA_DIR: dataDir, PORT: String(port), EMBEDDED_PG_PORT: String(pgPort) });
    chitti = startChitti(['start'], env);
    await waitUntilReady(url, chitti, 240_000);
    const password = (await readFile(postgresPasswordFileOf(dataDir), 'utf8')).trim();
    db = new pg.Client({
      connectionString: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${pgPort}/chitti`,
    });
    await db.connect();
  }, 300_000);

  afterAll(async () => {
    await db?.end();
    await chitti?.stop('SIGTERM');
    await stopLeftoverPostgres(dataDir);
    await rm(dataDir, { recursive: true, force: true });
  });

  const sql = (text: string, values: unknown[] = []) => db.query(text, values);
  const verify = async (): Promise<{ code: number | null; report: VerifyReport }> => {
    const { code, output } = await runChitti(['audit', 'verify'], { ...env, LOG_LEVEL: 'silent' });
    return { code, report: JSON.parse(output) as VerifyReport };
  };
  async function until(what: string, done: () => Promise<boolean> | boolean): Promise<void> {
    const deadline = Date.now() + 120_000;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${chitti?.output().slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  const sealedUpTo = async () => Number((await sql('SELECT coalesce(max(to_position), 0) AS n FROM seals')).rows[0].n);
  const head = async () => Number((await sql('SELECT position FROM event_log_head')).rows[0].position);

  it('an event the server wrote, edited and re-hashed in SQL (sealed or not yet): named as altered', async () => {
    // A one-off command (another process, with the data folder's writer key) writes the newest event.
    const { code: wrote } = await runChitti(['audit', 'verify'], { ...env, LOG_LEVEL: 'silent' });
    expect(wrote).toBe(0);
    const target = await head();
    await sql('BEGIN');
    await sql(
      `UPDATE events SET metadata = jsonb_set(metadata, '{actor}', '"someone-else"') WHERE global_position = $1`,
      [target],
    );
    const { stream_id } = (await sql('SELECT stream_id FROM events WHERE global_position = $1', [target])).rows[0];
    await rehashStream(sql, stream_id);
    await sql('COMMIT');
    await until('the edited event to be sealed', async () => (await sealedUpTo()) >= target);
    const { code, report } = await verify();
    expect(code).toBe(1);
    expect(report.firstProblem).toMatchObject({ globalPosition: target });
    expect(['altered', 'unauthenticated']).toContain(report.firstProblem?.kind);
  });
  it('a forged event appended at head+1, hashed correctly, head moved: never sealed, named', async () => {
    const before = await head();
    await until('the start-up events to be sealed', async () => (await sealedUpTo()) >= before);
    const tip = (await sql('SELECT * FROM events ORDER BY global_position DESC LIMIT 1')).rows[0] as EventTableRow;
    const position = before + 1;
    const forged = {
      globalPosition: position,
      streamId: tip.stream_id,
      streamVersion: tip.stream_version + 1,
      eventId: randomUUID(),
      type: tip.type,
      schemaVersion: tip.schema_version,
      data: tip.data,
      metadata: tip.metadata,
      recordedAt: tip.recorded_at,
    };
    await sql('BEGIN');
    await sql(
      `INSERT INTO events (global_position, stream_id, stream_version, event_id, type, schema_version, data, metadata,
                           recorded_at, hash, prev_hash, hash_version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 2)`,
      [
        position,
        forged.streamId,
        forged.streamVersion,
        forged.eventId,
        forged.type,
        forged.schemaVersion,
        JSON.stringify(forged.data),
        JSON.stringify(forged.metadata),
        forged.recordedAt,
        computeEventHashV2(forged, tip.hash),
        tip.hash,
      ],
    );
    await sql('UPDATE event_log_head SET position = $1', [position]);
    await sql('UPDATE streams SET version = $1 WHERE stream_id = $2', [forged.streamVersion, forged.streamId]);
    await sql('COMMIT');

    await until('the sealer to refuse the forged event', () =>
      chitti!.output().includes(`sealer refuses to seal past position ${position}`),
    );
    expect(await sealedUpTo()).toBe(before);
    const { code, report } = await verify();
    expect(code).toBe(1);
    // The first test's edit comes first in the log; this one is counted after it.
    expect(report.problemCount).toBeGreaterThanOrEqual(2);
    expect(report.writerMacs).toBe('verified');
    expect(report.sealedUpTo).toBe(before);

    // verify recorded its own access event after it, genuine: it stays unsealed behind the forged one.
    await until('the next tick', async () => (await head()) > position);
    expect(await sealedUpTo()).toBe(before);
  });
});
