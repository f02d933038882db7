import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AuditReport, type VerifyAuditOptions, verifyAudit } from '../../infra/postgres/audit-verify.js';
import type { EventTableRow } from '../../infra/postgres/event-rows.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import {
  computeSealDigest,
  encodeSealEntries,
  sealMessage,
  sealMessageDigest,
  signSealMessage,
} from '../../infra/postgres/seal-digest.js';
import { SealChainBrokenError, Sealer } from '../../infra/postgres/sealer.js';
import { type AnchorContent, SealAnchorFile } from '../../infra/sealing/anchor-file.js';
import { generateSealSigningKey, publicKeyOf, type SealSigningKey } from '../../infra/sealing/seal-keys.js';
import { generateWriterKey, writerKeyRing } from '../../infra/sealing/writer-keys.js';
import { tagged } from '../conformance/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';
import { appendAfterClockTick, rehashStream as rehashStream_ } from './support.js';

/**
 * The log every test starts from (positions fixed by the append order, recorded times strictly increasing):
 *   1 a1  2 b1  3 a2  4 c1 | 5 b2  6 a3  7 c2  8 b3 | 9 a4  10 b4 | 11 c3  12 a5  13 SealKeyActivated
 * sealed with an Ed25519 key in ranges of 4 up to position 10 (seals 1-3, all in the anchor);
 * 11-13 are not sealed yet. Each test tampers inside a transaction on one connection, verifies
 * there, and rolls back.
 */
const ORDER = ['a', 'b', 'a', 'c', 'b', 'a', 'c', 'b', 'a', 'b', 'c', 'a'];

describe('tamper evidence: verifyAudit names the first broken event', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let client: pg.PoolClient;
  let store: PostgresEventStore;
  let dir: string;
  let key: SealSigningKey;
  const writerKeys = writerKeyRing([generateWriterKey()]);
  let anchorFile: SealAnchorFile;
  let anchor: AnchorContent;

  beforeAll(async () => {
    database = await createTestDatabase('chitti_tamper');
    pool = new pg.Pool({ connectionString: database.url, max: 4 });
    await migrate(pool);
    store = new PostgresEventStore(pool, { writerKeys });
    for (const [i, stream] of ORDER.entries())
      await appendAfterClockTick(
        pool,
        store,
        `file-${stream}`,
        tagged(i + 1, { metadata: { actor: 'user-1', note: `event ${i + 1}` } }),
      );
    dir = await mkdtemp(join(tmpdir(), 'chitti-anchor-'));
    key = generateSealSigningKey();
    anchorFile = new SealAnchorFile(join(dir, 'anchor.ndjson'));
    const sealer = new Sealer(pool, { signingKey: key, store, anchor: anchorFile, rangeSize: 4, writerKeys });
    expect(await sealer.sealUpTo(10)).toEqual({ sealsWritten: 3, sealedUpTo: 10 });
    anchor = await anchorFile.read();
    expect(anchor.seals.map((s) => s.sealNumber)).toEqual([1, 2, 3]);
    expect(anchor.keys.map((k) => k.keyId)).toEqual([key.published.keyId]);
  });
  afterAll(async () => {
    await store?.close();
    await pool?.end();
    await database?.drop();
    await rm(dir, { recursive: true, force: true });
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
  const trustedKeys = () => new Map([[key.published.keyId, publicKeyOf(key.published)]]);
  const verify = (options: Partial<VerifyAuditOptions> = {}) =>
    verifyAudit(client, { trustedKeys: trustedKeys(), anchor, batchSize: 3, ...options });
  const eventAt = async (position: number) =>
    (await sql('SELECT * FROM events WHERE global_position = $1', [position])).rows[0] as EventTableRow;

  const rehashStream = (streamId: string) => rehashStream_(sql, streamId);

  function expectProblem(report: AuditReport, expected: Record<string, unknown>) {
    expect(report.ok).toBe(false);
    expect(report.firstProblem).toMatchObject(expected);
  }

  it('an untouched store verifies, within the unsealed-age bound', async () => {
    const report = await verify({ maxUnsealedSeconds: 3600 });
    expect(report).toMatchObject({
      ok: true,
      eventsChecked: 13,
      sealsChecked: 3,
      sealedUpTo: 10,
      anchoredSealsChecked: 3,
      sealKeys: [key.published.keyId],
      problemCount: 0,
    });
    expect(report.firstProblem).toBeUndefined();
    expect(report.oldestUnsealedAt).toBe((await eventAt(11)).recorded_at.toISOString());
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
    await sql(`UPDATE streams SET version = 3 WHERE stream_id = 'file-b'`);
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
                           recorded_at, hash, prev_hash, hash_version)
       VALUES (4, 'file-a', 3, $1, 'FileTagged', 1, $2, $3, $4, 'to-be-recomputed', NULL, 2)`,
      [
        forgedId,
        JSON.stringify({ fileId: 'a', added: ['forged'], removed: [], taggedBy: 'user-1' }),
        JSON.stringify({ actor: 'user-1' }),
        a2.recorded_at,
      ],
    );
    for (const stream of ['file-a', 'file-b', 'file-c']) await rehashStream(stream);
    await sql('UPDATE event_log_head SET position = position + 1');
    expectProblem(await verify(), { kind: 'inserted', globalPosition: 4, eventId: forgedId, streamId: 'file-a' });
  });

  it('a re-hashed stream chain (content changed, hashes recomputed without the seal key)', async () => {
    await sql(`UPDATE events SET data = jsonb_set(data, '{added}', '["forged"]') WHERE global_position = 5`);
    await rehashStream('file-b');
    expectProblem(await verify(), { kind: 'altered', globalPosition: 5, streamId: 'file-b', streamVersion: 2 });
  });

  /** Re-signs seal 2 over re-hashed content of position 7 with `signer`, naming `keyId`. */
  async function resignSeal2(signer: SealSigningKey, keyId: string) {
    await sql(`UPDATE events SET data = jsonb_set(data, '{added}', '["forged"]') WHERE global_position = 7`);
    await rehashStream('file-c');
    const { rows } = await sql(
      'SELECT global_position, event_id, hash FROM events WHERE global_position BETWEEN 5 AND 8 ORDER BY 1',
    );
    const entries = encodeSealEntries(
      rows.map((r) => ({ globalPosition: Number(r.global_position), eventId: r.event_id, hash: r.hash })),
    );
    const seal = (await sql('SELECT prev_digest FROM seals WHERE seal_number = 2')).rows[0];
    const message = sealMessage({
      sealNumber: 2,
      fromPosition: 5,
      toPosition: 8,
      entries,
      prevDigest: seal.prev_digest,
      keyId,
    });
    await sql('UPDATE seals SET entries = $1, digest = $2, key_id = $3, signature = $4 WHERE seal_number = 2', [
      entries,
      sealMessageDigest(message),
      keyId,
      signSealMessage(signer.privateKey, message),
    ]);
  }

  it('a seal re-signed with another key under the real key id', async () => {
    await resignSeal2(generateSealSigningKey(), key.published.keyId);
    expectProblem(await verify(), { kind: 'seal-mismatch', globalPosition: 5, sealNumber: 2 });
  });

  it('a seal re-signed with a key of its own that the auditor does not trust', async () => {
    const own = generateSealSigningKey();
    await resignSeal2(own, own.published.keyId);
    expectProblem(await verify(), { kind: 'seal-unverifiable', globalPosition: 5, sealNumber: 2 });
  });

  it('two events swapped in the global order: their hashes cover the position', async () => {
    const c1 = await eventAt(4);
    await sql('UPDATE events SET global_position = 1002 WHERE global_position = 2');
    await sql('UPDATE events SET global_position = 2 WHERE global_position = 4');
    await sql('UPDATE events SET global_position = 4 WHERE global_position = 1002');
    expectProblem(await verify(), { kind: 'altered', globalPosition: 2, eventId: c1.event_id });
    await rehashStream('file-b');
    await rehashStream('file-c');
    expectProblem(await verify(), { kind: 'reordered', globalPosition: 2, eventId: c1.event_id });
  });

  describe('deleting seals (finding 1)', () => {
    it('the newest seal deleted, then a covered event edited and its stream re-hashed: the anchor names the seal', async () => {
      await sql('DELETE FROM seals WHERE seal_number = 3');
      await sql(`UPDATE events SET data = jsonb_set(data, '{added}', '["forged"]') WHERE global_position = 9`);
      await rehashStream('file-a');
      const report = await verify();
      expectProblem(report, { kind: 'truncated', globalPosition: 9, sealNumber: 3 });
      expect(report.sealedUpTo).toBe(8);
    });

    it('every seal deleted: the anchor names the first one', async () => {
      await sql('DELETE FROM seals');
      await sql(`UPDATE events SET data = jsonb_set(data, '{added}', '["forged"]') WHERE global_position = 2`);
      await rehashStream('file-b');
      const report = await verify();
      expectProblem(report, { kind: 'truncated', globalPosition: 1, sealNumber: 1 });
      expect(report).toMatchObject({ sealedUpTo: 0, anchoredSealsChecked: 3 });
    });

    it('every seal deleted, verified without the anchor: old events unsealed past the bound', async () => {
      await sql('DELETE FROM seals');
      const report = await verify({ anchor: undefined, maxUnsealedSeconds: 0 });
      expectProblem(report, { kind: 'unsealed', globalPosition: 1 });
    });

    it("the anchor file's last line replaced: verify names the seal, and a sealer on that anchor refuses to sign", async () => {
      const text = await readFile(anchorFile.path, 'utf8');
      const lines = text.trimEnd().split('\n');
      const last = JSON.parse(lines.at(-1)!);
      expect(last).toMatchObject({ kind: 'seal', sealNumber: 3 });
      lines[lines.length - 1] = JSON.stringify({ ...last, digest: 'f'.repeat(64) });
      const edited = new SealAnchorFile(join(dir, 'edited-anchor.ndjson'));
      await writeFile(edited.path, `${lines.join('\n')}\n`);
      expectProblem(await verify({ anchor: await edited.read() }), { kind: 'truncated', sealNumber: 3 });
      const sealer = new Sealer(pool, { signingKey: key, store, anchor: edited, rangeSize: 4, writerKeys });
      await expect(sealer.sealUpTo()).rejects.toBeInstanceOf(SealChainBrokenError);
    });

    it('a seal replaced by a re-signed one with the same number', async () => {
      const other = generateSealSigningKey();
      await resignSeal2(other, other.published.keyId);
      const report = await verify({
        trustedKeys: new Map([...trustedKeys(), [other.published.keyId, publicKeyOf(other.published)]]),
      });
      expectProblem(report, { kind: 'truncated', globalPosition: 5, sealNumber: 2 });
    });
  });

  describe('the unsealed tail: what the keyless checks catch', () => {
    it('an altered event is caught by its hash', async () => {
      await sql(`UPDATE events SET data = jsonb_set(data, '{added}', '["forged"]') WHERE global_position = 11`);
      expectProblem(await verify(), { kind: 'altered', globalPosition: 11, streamId: 'file-c', streamVersion: 3 });
    });

    it('renumbered positions after a deleted event: the hash covers the position', async () => {
      await sql('DELETE FROM events WHERE global_position = 11');
      await sql('UPDATE events SET global_position = global_position + 1000 WHERE global_position > 11');
      await sql('UPDATE events SET global_position = global_position - 1001 WHERE global_position > 1000');
      await sql('UPDATE event_log_head SET position = position - 1');
      await sql(`UPDATE streams SET version = 2 WHERE stream_id = 'file-c'`);
      expectProblem(await verify(), { kind: 'altered', globalPosition: 11, streamId: 'file-a' });
    });

    it('a swap between two streams, both re-hashed: recorded times go backwards', async () => {
      await sql('UPDATE events SET global_position = 1011 WHERE global_position = 11');
      await sql('UPDATE events SET global_position = 11 WHERE global_position = 12');
      await sql('UPDATE events SET global_position = 12 WHERE global_position = 1011');
      await rehashStream('file-a');
      await rehashStream('file-c');
      expectProblem(await verify(), { kind: 'time-reversed', globalPosition: 12, streamId: 'file-c' });
    });

    it('a backdated timestamp, re-hashed', async () => {
      await sql(
        `UPDATE events SET recorded_at = (SELECT recorded_at FROM events WHERE global_position = 10) - interval '1 millisecond'
          WHERE global_position = 12`,
      );
      await rehashStream('file-a');
      expectProblem(await verify(), { kind: 'time-reversed', globalPosition: 12, streamId: 'file-a' });
    });

    it('a row re-hashed under the old hash rule (a downgrade that drops position and time)', async () => {
      await sql('UPDATE events SET hash_version = 1 WHERE global_position = 12');
      await rehashStream('file-a');
      expectProblem(await verify(), { kind: 'altered', globalPosition: 12 });
    });

    it('a row written past the log head', async () => {
      const a5 = await eventAt(12);
      await sql(
        `INSERT INTO events (global_position, stream_id, stream_version, event_id, type, schema_version, data, metadata,
                             recorded_at, hash, prev_hash, hash_version)
         SELECT 14, stream_id, 6, $1, type, schema_version, data, metadata, recorded_at, 'x', hash, 2
           FROM events WHERE global_position = 12`,
        [randomUUID()],
      );
      await rehashStream('file-a');
      expectProblem(await verify(), { kind: 'inserted', globalPosition: 14, streamId: a5.stream_id });
    });
  });

  it('legacy HMAC seals: reported unverifiable without the old key, verified with it', async () => {
    const legacyKey = 'the-old-symmetric-seal-key-0123';
    await sql('DELETE FROM seals');
    let prevDigest: string | null = null;
    for (const [sealNumber, from, to] of [
      [1, 1, 4],
      [2, 5, 8],
    ] as const) {
      const { rows } = await sql(
        'SELECT global_position, event_id, hash FROM events WHERE global_position BETWEEN $1 AND $2 ORDER BY 1',
        [from, to],
      );
      const entries = encodeSealEntries(
        rows.map((r) => ({ globalPosition: Number(r.global_position), eventId: r.event_id, hash: r.hash })),
      );
      const digest = computeSealDigest(Buffer.from(legacyKey), {
        sealNumber,
        fromPosition: from,
        toPosition: to,
        entries,
        prevDigest,
      });
      await sql(
        `INSERT INTO seals (seal_number, from_position, to_position, event_count, entries, prev_digest, digest, format)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1)`,
        [sealNumber, from, to, rows.length, entries, prevDigest, digest],
      );
      prevDigest = digest;
    }
    expectProblem(await verify({ anchor: undefined }), { kind: 'seal-unverifiable', globalPosition: 1, sealNumber: 1 });
    expect(await verify({ anchor: undefined, legacyHmacKey: legacyKey })).toMatchObject({ ok: true, sealedUpTo: 8 });
    expectProblem(await verify({ anchor: undefined, legacyHmacKey: 'a-wrong-old-key-0123456789' }), {
      kind: 'seal-mismatch',
      sealNumber: 1,
    });
  });

  it('an untrusted key: every seal is reported unverifiable', async () => {
    const stranger = generateSealSigningKey();
    const report = await verify({
      trustedKeys: new Map([[stranger.published.keyId, publicKeyOf(stranger.published)]]),
    });
    expectProblem(report, { kind: 'seal-unverifiable', globalPosition: 1, sealNumber: 1 });
    expect(report.sealedUpTo).toBe(0);
  });

  describe('the sealer (committed changes, undone after each test)', () => {
    it('continues the chain, anchors each new seal (catching up a fresh anchor) and records its key once', async () => {
      const ownAnchor = new SealAnchorFile(join(dir, 'second-anchor.ndjson'));
      const sealer = new Sealer(pool, { signingKey: key, store, anchor: ownAnchor, rangeSize: 4, writerKeys });
      try {
        expect(await sealer.sealUpTo()).toEqual({ sealsWritten: 1, sealedUpTo: 13 });
        const anchored = await ownAnchor.read();
        expect(anchored.seals.map((s) => s.sealNumber)).toEqual([1, 2, 3, 4]);
        expect(anchored.keys).toHaveLength(1);
        expect(await verify({ anchor: anchored, maxUnsealedSeconds: 0 })).toMatchObject({
          ok: true,
          sealsChecked: 4,
          sealedUpTo: 13,
        });
        expect(await sealer.sealUpTo()).toEqual({ sealsWritten: 0, sealedUpTo: 13 });
        const keyEvents = await pool.query(`SELECT count(*)::int AS n FROM events WHERE type = 'SealKeyActivated'`);
        expect(keyEvents.rows[0].n).toBe(1);
      } finally {
        await pool.query('DELETE FROM seals WHERE seal_number > 3');
      }
    });

    it('refuses to sign over a seal that was deleted after it was anchored', async () => {
      const saved = (await pool.query('SELECT * FROM seals WHERE seal_number = 3')).rows[0];
      await pool.query('DELETE FROM seals WHERE seal_number = 3');
      try {
        const sealer = new Sealer(pool, { signingKey: key, store, anchor: anchorFile, rangeSize: 4, writerKeys });
        await expect(sealer.sealUpTo()).rejects.toBeInstanceOf(SealChainBrokenError);
        expect(Number((await pool.query('SELECT max(seal_number) AS n FROM seals')).rows[0].n)).toBe(2);
      } finally {
        await pool.query(`INSERT INTO seals SELECT * FROM json_populate_record(null::seals, $1::json)`, [
          JSON.stringify({ ...saved, entries: `\\x${saved.entries.toString('hex')}` }),
        ]);
      }
    });
  });
});
