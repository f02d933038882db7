import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AuditReport, verifyAudit } from '../../infra/postgres/audit-verify.js';
import { type EventTableRow, hashEventRow } from '../../infra/postgres/event-rows.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { computeSealDigest, encodeSealEntries, SealKeyError } from '../../infra/postgres/seal-digest.js';
import { Sealer } from '../../infra/postgres/sealer.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';

const SEAL_KEY = 'test-seal-key-0123456789abcdef';

/**
 * The log every test starts from (positions fixed by the append order):
 *   1 a1  2 b1  3 a2  4 c1 | 5 b2  6 a3  7 c2  8 b3 | 9 a4  10 b4 | 11 c3  12 a5
 * sealed in ranges of 4 up to position 10 (seals 1-3); 11 and 12 are not sealed yet.
 * Each test tampers inside a transaction on one connection, verifies there, and rolls back.
 */
const ORDER = ['a', 'b', 'a', 'c', 'b', 'a', 'c', 'b', 'a', 'b', 'c', 'a'];

describe('tamper evidence: verifyAudit names the first broken event', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let client: pg.PoolClient;

  beforeAll(async () => {
    database = await createTestDatabase('chitti_tamper');
    pool = new pg.Pool({ connectionString: database.url, max: 4 });
    await migrate(pool);
    const store = new PostgresEventStore(pool);
    for (const [i, stream] of ORDER.entries()) {
      await store.append(
        `file-${stream}`,
        [
          {
            type: 'FileTagged',
            data: { fileId: stream, added: [`t${i + 1}`], removed: [], taggedBy: 'user-1' },
            metadata: { actor: 'user-1', note: `event ${i + 1}` },
          },
        ],
        { expectedVersion: 'any' },
      );
    }
    await store.close();
    const run = await new Sealer(pool, { sealKey: SEAL_KEY, rangeSize: 4 }).sealUpTo(10);
    expect(run).toEqual({ sealsWritten: 3, sealedUpTo: 10 });
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });
  beforeEach(async () => {
    client = await pool.connect();
    await client.query('BEGIN');
  });
  afterEach(async () => {
    await client.query('ROLLBACK');
    client.release();
  });

  const sql = (text: string, values: unknown[] = []) => client.query(text, values);
  const verify = () => verifyAudit(client, { sealKey: SEAL_KEY, batchSize: 3 });
  const eventAt = async (position: number) =>
    (await sql('SELECT * FROM events WHERE global_position = $1', [position])).rows[0] as EventTableRow;

  /** What an attacker without the seal key can do: recompute a stream's chain from its rows. */
  async function rehashStream(streamId: string): Promise<void> {
    const { rows } = await sql('SELECT * FROM events WHERE stream_id = $1 ORDER BY stream_version', [streamId]);
    let prev: string | null = null;
    for (const row of rows as EventTableRow[]) {
      const hash = hashEventRow(row, prev);
      await sql('UPDATE events SET hash = $1, prev_hash = $2 WHERE event_id = $3', [hash, prev, row.event_id]);
      prev = hash;
    }
  }

  function expectProblem(report: AuditReport, expected: Record<string, unknown>) {
    expect(report.ok).toBe(false);
    expect(report.firstProblem).toMatchObject(expected);
  }

  it('an untouched store verifies', async () => {
    const report = await verify();
    expect(report).toMatchObject({ ok: true, eventsChecked: 12, sealsChecked: 3, sealedUpTo: 10, problemCount: 0 });
    expect(report.firstProblem).toBeUndefined();
  });

  it('altered data', async () => {
    const b2 = await eventAt(5);
    await sql(`UPDATE events SET data = jsonb_set(data, '{added}', '["forged"]') WHERE global_position = 5`);
    expectProblem(await verify(), {
      kind: 'altered',
      globalPosition: 5,
      streamId: 'file-b',
      streamVersion: 2,
      eventId: b2.event_id,
    });
  });

  it('altered metadata', async () => {
    await sql(
      `UPDATE events SET metadata = jsonb_set(metadata, '{actor}', '"someone-else"') WHERE global_position = 7`,
    );
    expectProblem(await verify(), { kind: 'altered', globalPosition: 7, streamId: 'file-c', streamVersion: 2 });
  });

  it('a recorded time moved by a microsecond', async () => {
    await sql(`UPDATE events SET recorded_at = recorded_at + interval '1 microsecond' WHERE global_position = 6`);
    expectProblem(await verify(), { kind: 'altered', globalPosition: 6, streamId: 'file-a', streamVersion: 3 });
  });

  it('a deleted event in the middle of a stream', async () => {
    const a2 = await eventAt(3);
    await sql('DELETE FROM events WHERE global_position = 3');
    expectProblem(await verify(), { kind: 'deleted', globalPosition: 3, eventId: a2.event_id });
  });

  it('a deleted last event of a stream, which no stream chain can notice', async () => {
    const b4 = await eventAt(10);
    await sql('DELETE FROM events WHERE global_position = 10');
    await sql(
      `UPDATE streams SET version = 3, last_hash = (SELECT hash FROM events WHERE global_position = 8) WHERE stream_id = 'file-b'`,
    );
    expectProblem(await verify(), { kind: 'deleted', globalPosition: 10, eventId: b4.event_id, sealNumber: 3 });
  });

  it('a forged event inserted into history with a recomputed chain', async () => {
    const a2 = await eventAt(3);
    // Make room at position 4 and stream version 3 of file-a, then recompute file-a's whole chain.
    await sql('UPDATE events SET global_position = global_position + 1000 WHERE global_position > 3');
    await sql('UPDATE events SET global_position = global_position - 999 WHERE global_position > 1000');
    await sql(
      `UPDATE events SET stream_version = stream_version + 1000 WHERE stream_id = 'file-a' AND stream_version >= 3`,
    );
    await sql(
      `UPDATE events SET stream_version = stream_version - 999 WHERE stream_id = 'file-a' AND stream_version > 1000`,
    );
    const forgedId = randomUUID();
    await sql(
      `INSERT INTO events (global_position, stream_id, stream_version, event_id, type, schema_version, data, metadata,
                           recorded_at, hash, prev_hash)
       VALUES (4, 'file-a', 3, $1, 'FileTagged', 1, $2, $3, $4, 'to-be-recomputed', NULL)`,
      [
        forgedId,
        JSON.stringify({ fileId: 'a', added: ['forged'], removed: [], taggedBy: 'user-1' }),
        JSON.stringify({ actor: 'user-1' }),
        a2.recorded_at,
      ],
    );
    await rehashStream('file-a');
    await sql('UPDATE event_log_head SET position = position + 1');
    expectProblem(await verify(), { kind: 'inserted', globalPosition: 4, eventId: forgedId, streamId: 'file-a' });
  });

  it('a re-hashed stream chain (content changed, hashes recomputed without the seal key)', async () => {
    await sql(`UPDATE events SET data = jsonb_set(data, '{added}', '["forged"]') WHERE global_position = 5`);
    await rehashStream('file-b');
    expectProblem(await verify(), { kind: 'altered', globalPosition: 5, streamId: 'file-b', streamVersion: 2 });
  });

  it('a seal re-forged without the key', async () => {
    await sql(`UPDATE events SET data = jsonb_set(data, '{added}', '["forged"]') WHERE global_position = 7`);
    await rehashStream('file-c');
    const { rows } = await sql(
      'SELECT global_position, event_id, hash FROM events WHERE global_position BETWEEN 5 AND 8 ORDER BY 1',
    );
    const entries = encodeSealEntries(
      rows.map((r) => ({ globalPosition: Number(r.global_position), eventId: r.event_id, hash: r.hash })),
    );
    const seal = (await sql('SELECT prev_digest FROM seals WHERE seal_number = 2')).rows[0];
    const digest = computeSealDigest(Buffer.from('a-guessed-key-that-is-not-it!!'), {
      sealNumber: 2,
      fromPosition: 5,
      toPosition: 8,
      entries,
      prevDigest: seal.prev_digest,
    });
    await sql('UPDATE seals SET entries = $1, digest = $2 WHERE seal_number = 2', [entries, digest]);
    expectProblem(await verify(), { kind: 'seal-mismatch', globalPosition: 5, sealNumber: 2 });
  });

  it('two events swapped in the global order', async () => {
    const c1 = await eventAt(4);
    await sql('UPDATE events SET global_position = 1002 WHERE global_position = 2');
    await sql('UPDATE events SET global_position = 2 WHERE global_position = 4');
    await sql('UPDATE events SET global_position = 4 WHERE global_position = 1002');
    expectProblem(await verify(), { kind: 'reordered', globalPosition: 2, eventId: c1.event_id });
  });

  it('an altered event in the unsealed tail is still caught by its chain', async () => {
    await sql(`UPDATE events SET data = jsonb_set(data, '{added}', '["forged"]') WHERE global_position = 11`);
    expectProblem(await verify(), { kind: 'altered', globalPosition: 11, streamId: 'file-c', streamVersion: 3 });
  });

  it('a row written past the log head', async () => {
    const a5 = await eventAt(12);
    await sql(
      `INSERT INTO events (global_position, stream_id, stream_version, event_id, type, schema_version, data, metadata,
                           recorded_at, hash, prev_hash)
       SELECT 13, stream_id, 6, $1, type, schema_version, data, metadata, recorded_at, 'x', hash
         FROM events WHERE global_position = 12`,
      [randomUUID()],
    );
    await rehashStream('file-a');
    expectProblem(await verify(), { kind: 'inserted', globalPosition: 13, streamId: a5.stream_id });
  });

  it('the sealer continues the chain and a later verify covers the new seal', async () => {
    const run = await new Sealer(pool, { sealKey: SEAL_KEY, rangeSize: 4 }).sealUpTo();
    try {
      expect(run).toEqual({ sealsWritten: 1, sealedUpTo: 12 });
      expect(await verify()).toMatchObject({ ok: true, sealsChecked: 4, sealedUpTo: 12 });
      expect(await new Sealer(pool, { sealKey: SEAL_KEY }).sealUpTo()).toEqual({ sealsWritten: 0, sealedUpTo: 12 });
    } finally {
      await pool.query('DELETE FROM seals WHERE seal_number > 3');
    }
  });

  it('verifying with another key fails at the first seal; a short key is refused', async () => {
    const report = await verifyAudit(client, { sealKey: 'another-key-of-enough-length' });
    expectProblem(report, { kind: 'seal-mismatch', globalPosition: 1, sealNumber: 1 });
    expect(() => new Sealer(pool, { sealKey: 'short' })).toThrow(SealKeyError);
  });
});
