import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppendWitness } from '../../infra/postgres/append-witness.js';
import { type AuditReport, verifyAudit } from '../../infra/postgres/audit-verify.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { Sealer } from '../../infra/postgres/sealer.js';
import { SealAnchorFile } from '../../infra/sealing/anchor-file.js';
import { generateSealSigningKey, publicKeyOf } from '../../infra/sealing/seal-keys.js';
import { generateWriterKey, writerKeyRing } from '../../infra/sealing/writer-keys.js';
import { tagged } from '../conformance/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';
import { appendAfterClockTick, rehashStream as rehashStream_ } from './support.js';

/**
 * The unsealed tail when the sealer runs in the writing process (`chitti start`): rows edited between
 * their commit and their seal, by someone who can edit rows but holds no key, with every hash
 * recomputed and the heads wound back so that no keyless check can notice. The sealer signs what
 * the store wrote, so the next seal contradicts the rows and `audit verify` names the event.
 *
 * Log per test: 1 SealKeyActivated, 2 a1, 3 b1, 4 a2 (sealed) | 5 b2, 6 a3, 7 c1 (the tail).
 */
describe('the unsealed tail is sealed as the writer wrote it', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let store: PostgresEventStore;
  let sealer: Sealer;
  let dir: string;
  const key = generateSealSigningKey();
  const writerKeys = writerKeyRing([generateWriterKey()]);

  beforeEach(async () => {
    database = await createTestDatabase('chitti_witness');
    pool = new pg.Pool({ connectionString: database.url, max: 4 });
    await migrate(pool);
    dir = await mkdtemp(join(tmpdir(), 'chitti-witness-'));
    const witness = new AppendWitness();
    store = new PostgresEventStore(pool, { witness, writerKeys });
    sealer = new Sealer(pool, {
      signingKey: key,
      store,
      anchor: new SealAnchorFile(join(dir, 'a')),
      witness,
      writerKeys,
    });
    await sealer.sealUpTo(0);
    for (const [i, stream] of ['a', 'b', 'a'].entries())
      await appendAfterClockTick(pool, store, `file-${stream}`, tagged(i));
    expect(await sealer.sealUpTo()).toEqual({ sealsWritten: 1, sealedUpTo: 4 });
    for (const [i, stream] of ['b', 'a', 'c'].entries())
      await appendAfterClockTick(pool, store, `file-${stream}`, tagged(10 + i));
  });
  afterEach(async () => {
    await store?.close();
    await pool?.end();
    await database?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const sql = (text: string, values: unknown[] = []) => pool.query(text, values);
  const rehashStream = (streamId: string) => rehashStream_(sql, streamId);
  const verify = () => verifyAudit(pool, { trustedKeys: new Map([[key.published.keyId, publicKeyOf(key.published)]]) });
  async function sealThenVerify(): Promise<AuditReport> {
    expect(await verify()).toMatchObject({ ok: true });
    await sealer.sealUpTo();
    return verify();
  }

  it('an edit re-hashed before the seal', async () => {
    await sql(`UPDATE events SET data = jsonb_set(data, '{added}', '["forged"]') WHERE global_position = 6`);
    await rehashStream('file-a');
    expect((await sealThenVerify()).firstProblem).toMatchObject({ kind: 'altered', globalPosition: 6 });
  });

  it('the newest event deleted, with the log head and its stream head rolled back', async () => {
    const { rows } = await sql('SELECT event_id FROM events WHERE global_position = 7');
    await sql('DELETE FROM events WHERE global_position = 7');
    await sql(`DELETE FROM streams WHERE stream_id = 'file-c'`);
    await sql(
      `UPDATE event_log_head SET position = 6, recorded_at = (SELECT recorded_at FROM events WHERE global_position = 6)`,
    );
    expect((await sealThenVerify()).firstProblem).toMatchObject({
      kind: 'deleted',
      globalPosition: 7,
      eventId: rows[0].event_id,
    });
  });

  it('positions renumbered over a deleted event, re-hashed', async () => {
    await sql('DELETE FROM events WHERE global_position = 5');
    await sql('UPDATE events SET global_position = global_position + 1000 WHERE global_position > 5');
    await sql('UPDATE events SET global_position = global_position - 1001 WHERE global_position > 1000');
    await sql(`UPDATE streams SET version = 1 WHERE stream_id = 'file-b'`);
    await sql('UPDATE event_log_head SET position = 6');
    for (const stream of ['file-a', 'file-c']) await rehashStream(stream);
    expect((await sealThenVerify()).firstProblem).toMatchObject({ globalPosition: 5 });
  });

  it('a swap between two streams with the same recorded time, re-hashed', async () => {
    // Give both the same time so that the order check cannot see the swap.
    await sql(`UPDATE events SET recorded_at = (SELECT recorded_at FROM events WHERE global_position = 5)
                WHERE global_position = 6`);
    await sql('UPDATE events SET global_position = 1005 WHERE global_position = 5');
    await sql('UPDATE events SET global_position = 5 WHERE global_position = 6');
    await sql('UPDATE events SET global_position = 6 WHERE global_position = 1005');
    for (const stream of ['file-a', 'file-b']) await rehashStream(stream);
    expect((await sealThenVerify()).firstProblem).toMatchObject({ kind: 'reordered', globalPosition: 5 });
  });

  it('a timestamp backdated within its neighbours, re-hashed', async () => {
    await sql(`UPDATE events SET recorded_at = (SELECT recorded_at FROM events WHERE global_position = 5)
                WHERE global_position = 6`);
    await rehashStream('file-a');
    expect((await sealThenVerify()).firstProblem).toMatchObject({ kind: 'altered', globalPosition: 6 });
  });
});
