import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppendWitness } from '../../infra/postgres/append-witness.js';
import { type AuditReport, type VerifyAuditOptions, verifyAudit } from '../../infra/postgres/audit-verify.js';
import { computeEventHashV2 } from '../../infra/postgres/event-hash.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { Sealer, UnauthenticatedEventError } from '../../infra/postgres/sealer.js';
import { computeNoticeMac } from '../../infra/postgres/writer-mac.js';
import { SealAnchorFile } from '../../infra/sealing/anchor-file.js';
import { generateSealSigningKey, publicKeyOf } from '../../infra/sealing/seal-keys.js';
import { generateWriterKey, type WriterKeyRing, writerKeyRing } from '../../infra/sealing/writer-keys.js';
import { tagged } from '../conformance/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';
import { appendAfterClockTick, rehashStream as rehashStream_ } from './support.js';

/**
 * Distributed mode: the writers (API processes) and the sealer (the relay) are different processes, so
 * the sealer has no witness of what was written and takes the rows as they are. Someone who can edit
 * rows but holds no key (no writer key, no seal key) forges or edits events in the unsealed tail, with
 * every hash recomputed and the heads moved, and waits for the sealer. The writer MAC is what stops
 * them: the sealer refuses to seal past the first event no writer-key holder wrote, and `audit verify`
 * names it.
 *
 * Log per test: 1 SealKeyActivated, 2 a1, 3 b1, 4 a2 (sealed) | 5 b2, 6 a3 (the tail).
 */
describe('writer MACs: events no writer-key holder wrote are never sealed', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let writer: PostgresEventStore;
  let relayStore: PostgresEventStore;
  let dir: string;
  let anchor: SealAnchorFile;
  let writerKeys: WriterKeyRing;
  const sealKey = generateSealSigningKey();

  let relayWitness: AppendWitness;
  const sealerWith = (keys: WriterKeyRing, witness?: AppendWitness) =>
    new Sealer(pool, {
      signingKey: sealKey,
      store: relayStore,
      anchor,
      writerKeys: keys,
      ...(witness ? { witness } : {}),
    });

  beforeEach(async () => {
    database = await createTestDatabase('chitti_writer_mac');
    pool = new pg.Pool({ connectionString: database.url, max: 4 });
    await migrate(pool);
    dir = await mkdtemp(join(tmpdir(), 'chitti-writer-mac-'));
    anchor = new SealAnchorFile(join(dir, 'anchor.ndjson'));
    writerKeys = writerKeyRing([generateWriterKey()]);
    writer = new PostgresEventStore(pool, { writerKeys });
    // The relay: hears every writer's commit notices on its LISTEN connection.
    relayWitness = new AppendWitness();
    relayStore = new PostgresEventStore(pool, { writerKeys, witness: relayWitness });
    await relayStore.listen();
    const sealer = sealerWith(writerKeys, relayWitness);
    await sealer.sealUpTo(0);
    for (const [i, stream] of ['a', 'b', 'a'].entries())
      await appendAfterClockTick(pool, writer, `file-${stream}`, tagged(i));
    expect(await sealer.sealUpTo()).toEqual({ sealsWritten: 1, sealedUpTo: 4 });
    for (const [i, stream] of ['b', 'a'].entries())
      await appendAfterClockTick(pool, writer, `file-${stream}`, tagged(10 + i));
  });
  afterEach(async () => {
    await writer?.close();
    await relayStore?.close();
    await pool?.end();
    await database?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const sql = (text: string, values: unknown[] = []) => pool.query(text, values);
  const verify = async (options: Partial<VerifyAuditOptions> = {}): Promise<AuditReport> => {
    const anchored = await anchor.read();
    return verifyAudit(pool, {
      trustedKeys: new Map([[sealKey.published.keyId, publicKeyOf(sealKey.published)]]),
      anchor: anchored,
      writerKeys,
      writerMacsFrom: anchored.writerMacsFrom,
      ...options,
    });
  };
  const sealedUpTo = async () => Number((await sql('SELECT max(to_position) AS n FROM seals')).rows[0].n);
  const rehashStream = (streamId: string) => rehashStream_(sql, streamId);

  /**
   * Appends a forged event at head+1 the way the store would: right stream version, v2 hash over its
   * position and time chained to the stream's head, the log head and the stream head moved.
   */
  async function forgeAtHead(streamId: string, writerMac: string | null): Promise<{ position: number; id: string }> {
    const head = (await sql('SELECT position, recorded_at FROM event_log_head')).rows[0];
    const tip = (
      await sql('SELECT stream_version, hash FROM events WHERE stream_id = $1 ORDER BY stream_version DESC LIMIT 1', [
        streamId,
      ])
    ).rows[0];
    const position = Number(head.position) + 1;
    const content = {
      globalPosition: position,
      streamId,
      streamVersion: tip.stream_version + 1,
      eventId: randomUUID(),
      type: 'FileTagged',
      schemaVersion: 1,
      data: { fileId: 'a', added: ['forged'], removed: [], taggedBy: 'user-1' },
      metadata: { actor: 'user-1' },
      recordedAt: head.recorded_at as Date,
    };
    await sql(
      `INSERT INTO events (global_position, stream_id, stream_version, event_id, type, schema_version, data, metadata,
                           recorded_at, hash, prev_hash, hash_version, writer_mac)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 2, $12)`,
      [
        position,
        streamId,
        content.streamVersion,
        content.eventId,
        content.type,
        1,
        JSON.stringify(content.data),
        JSON.stringify(content.metadata),
        content.recordedAt,
        computeEventHashV2(content, tip.hash),
        tip.hash,
        writerMac,
      ],
    );
    await sql('UPDATE event_log_head SET position = $1', [position]);
    await sql('UPDATE streams SET version = $1 WHERE stream_id = $2', [content.streamVersion, streamId]);
    return { position, id: content.eventId };
  }

  it('an untouched log seals and verifies with every writer MAC checked', async () => {
    expect(await sealerWith(writerKeys).sealUpTo()).toEqual({ sealsWritten: 1, sealedUpTo: 6 });
    const anchored = await anchor.read();
    expect(anchored.writerMacsFrom).toBe(1);
    expect(await verify()).toMatchObject({ ok: true, writerMacs: 'verified', writerMacsChecked: 6, sealedUpTo: 6 });
  });

  it('a forged event appended at head+1 (head moved, hashed correctly, no MAC) is not sealed, and verify names it', async () => {
    const forged = await forgeAtHead('file-a', null);
    const error = await sealerWith(writerKeys)
      .sealUpTo()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnauthenticatedEventError);
    expect(error).toMatchObject({ globalPosition: 7, eventId: forged.id });
    // The genuine tail before it was sealed; nothing at or after the forged event.
    expect(await sealedUpTo()).toBe(6);
    expect((await verify()).firstProblem).toMatchObject({ kind: 'unauthenticated', globalPosition: 7 });
    // Without the writer keys (an auditor): the missing MAC after the cut-over is still named.
    const keyless = await verify({ writerKeys: undefined });
    expect(keyless).toMatchObject({ ok: false, writerMacs: 'presence-only', writerMacsChecked: 0 });
    expect(keyless.firstProblem).toMatchObject({ kind: 'unauthenticated', globalPosition: 7 });
    // A later genuine append stays unsealed behind it: the tail grows until the age bound trips.
    await writer.append('file-b', [tagged(20)], { expectedVersion: 'any' });
    await expect(sealerWith(writerKeys).sealUpTo()).rejects.toBeInstanceOf(UnauthenticatedEventError);
    expect(await sealedUpTo()).toBe(6);
    expect((await verify({ maxUnsealedSeconds: 0 })).problemCount).toBeGreaterThanOrEqual(2);
  });

  it('a forged event carrying a MAC copied from a genuine event, or one under an unknown key', async () => {
    const copied = (await sql('SELECT writer_mac FROM events WHERE global_position = 6')).rows[0].writer_mac;
    await forgeAtHead('file-a', copied);
    await expect(sealerWith(writerKeys).sealUpTo()).rejects.toMatchObject({ globalPosition: 7 });
    expect((await verify()).firstProblem).toMatchObject({ kind: 'unauthenticated', globalPosition: 7 });
    await sql(`UPDATE events SET writer_mac = $1 WHERE global_position = 7`, [`0123456789abcdef:${'0'.repeat(64)}`]);
    expect((await verify()).firstProblem).toMatchObject({
      kind: 'unauthenticated',
      globalPosition: 7,
      detail: expect.stringContaining('0123456789abcdef'),
    });
  });

  it('an edit in the unsealed tail, re-hashed, with no witness in the sealing process', async () => {
    await sql(`UPDATE events SET data = jsonb_set(data, '{added}', '["forged"]') WHERE global_position = 5`);
    await rehashStream('file-b');
    // Every keyless check passes: the hash chain is consistent again.
    expect(await verify({ writerKeys: undefined })).toMatchObject({ ok: true });
    await expect(sealerWith(writerKeys).sealUpTo()).rejects.toMatchObject({ globalPosition: 5 });
    expect(await sealedUpTo()).toBe(4);
    expect((await verify()).firstProblem).toMatchObject({ kind: 'unauthenticated', globalPosition: 5 });
  });

  it('an event moved to another stream position (stream version changed), re-hashed', async () => {
    await sql(`UPDATE events SET stream_id = 'file-c', stream_version = 1 WHERE global_position = 6`);
    await sql(`UPDATE streams SET version = 2 WHERE stream_id = 'file-a'`);
    await rehashStream('file-c');
    await expect(sealerWith(writerKeys).sealUpTo()).rejects.toMatchObject({ globalPosition: 6 });
  });

  it('raising the cut-over in the database changes nothing once the anchor holds it', async () => {
    await forgeAtHead('file-a', null);
    await sql('UPDATE event_log_head SET writer_macs_from = 1000');
    await expect(sealerWith(writerKeys).sealUpTo()).rejects.toMatchObject({ globalPosition: 7 });
  });

  it('MACs stripped from every row, then a forged append: the anchored cut-over still names the first', async () => {
    await sql('UPDATE events SET writer_mac = NULL');
    await forgeAtHead('file-a', null);
    expect((await verify({ writerKeys: undefined })).firstProblem).toMatchObject({
      kind: 'unauthenticated',
      globalPosition: 1,
    });
    await expect(sealerWith(writerKeys).sealUpTo()).rejects.toMatchObject({ globalPosition: 5 });
  });

  it('key rotation: events under the old key keep verifying once the ring holds both', async () => {
    const rotated = writerKeyRing([generateWriterKey(), writerKeys.current]);
    const next = new PostgresEventStore(pool, { writerKeys: rotated });
    try {
      await next.append('file-c', [tagged(30)], { expectedVersion: 'no_stream' });
      const macs = (await sql('SELECT writer_mac FROM events WHERE global_position IN (6, 7) ORDER BY global_position'))
        .rows;
      expect(macs.map((r) => r.writer_mac.slice(0, 16))).toEqual([writerKeys.current.keyId, rotated.current.keyId]);
      expect(await sealerWith(rotated).sealUpTo()).toMatchObject({ sealedUpTo: 7 });
      expect(await verify({ writerKeys: rotated })).toMatchObject({ ok: true, writerMacsChecked: 7 });
      // A ring that lost the old key: sealed events stand on their seal (the sealer checked them),
      // an unsealed event under that key is reported instead of accepted.
      expect(await verify({ writerKeys: writerKeyRing([rotated.current]) })).toMatchObject({ ok: true });
      await writer.append('file-c', [tagged(31)], { expectedVersion: 'any' });
      const report = await verify({ writerKeys: writerKeyRing([rotated.current]) });
      expect(report.firstProblem).toMatchObject({ kind: 'unauthenticated', globalPosition: 8 });
    } finally {
      await next.close();
    }
  });

  describe('commit notices: what a writer in another process committed, heard by the sealer', () => {
    async function heardUpTo(position: number): Promise<void> {
      const deadline = Date.now() + 20_000;
      while (relayWitness.noticesBetween(position, position).length === 0) {
        if (Date.now() > deadline) throw new Error(`no commit notice for position ${position}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }

    it('the newest event deleted, with the log head and its stream head rolled back', async () => {
      await heardUpTo(6);
      const a3 = (await sql('SELECT event_id FROM events WHERE global_position = 6')).rows[0].event_id;
      await sql('DELETE FROM events WHERE global_position = 6');
      await sql(`UPDATE streams SET version = 2 WHERE stream_id = 'file-a'`);
      await sql(
        `UPDATE event_log_head SET position = 5, recorded_at = (SELECT recorded_at FROM events WHERE global_position = 5)`,
      );
      // Every keyless and writer-MAC check passes: the remaining rows are all genuine.
      expect(await verify()).toMatchObject({ ok: true });
      expect(await sealerWith(writerKeys, relayWitness).sealUpTo()).toMatchObject({ sealedUpTo: 6 });
      expect((await verify()).firstProblem).toMatchObject({ kind: 'deleted', globalPosition: 6, eventId: a3 });
    });

    it('positions renumbered over a deleted event, re-hashed, heads rolled back', async () => {
      await heardUpTo(6);
      await sql('DELETE FROM events WHERE global_position = 5');
      await sql('UPDATE events SET global_position = 5 WHERE global_position = 6');
      await sql(`UPDATE streams SET version = 1 WHERE stream_id = 'file-b'`);
      await sql('UPDATE event_log_head SET position = 5');
      await rehashStream('file-a');
      await sealerWith(writerKeys, relayWitness)
        .sealUpTo()
        .catch(() => undefined);
      expect((await verify()).firstProblem).toMatchObject({ globalPosition: 5 });
    });

    it('a swap of the two newest events with equal recorded times, re-hashed (no time order can see it)', async () => {
      await heardUpTo(6);
      await sql(`UPDATE events SET recorded_at = (SELECT recorded_at FROM events WHERE global_position = 5)
                  WHERE global_position = 6`);
      await sql('UPDATE events SET global_position = 1005 WHERE global_position = 5');
      await sql('UPDATE events SET global_position = 5 WHERE global_position = 6');
      await sql('UPDATE events SET global_position = 6 WHERE global_position = 1005');
      for (const stream of ['file-a', 'file-b']) await rehashStream(stream);
      expect(await verify()).toMatchObject({ ok: true });
      await sealerWith(writerKeys, relayWitness).sealUpTo();
      expect((await verify()).firstProblem).toMatchObject({ kind: 'reordered', globalPosition: 5 });
    });

    it('the newest event backdated within its neighbours, re-hashed', async () => {
      await heardUpTo(6);
      await sql(`UPDATE events SET recorded_at = (SELECT recorded_at FROM events WHERE global_position = 5)
                  WHERE global_position = 6`);
      await rehashStream('file-a');
      expect(await verify()).toMatchObject({ ok: true });
      await sealerWith(writerKeys, relayWitness).sealUpTo();
      expect((await verify()).firstProblem).toMatchObject({ kind: 'altered', globalPosition: 6 });
    });

    it('a forged notice (bad MAC) far above the head, or a replayed one, seals nothing that is not there', async () => {
      await heardUpTo(6);
      const sealed = (await sql('SELECT event_id, hash, writer_mac FROM events WHERE global_position = 2')).rows[0];
      await sql(`SELECT pg_notify('chitti_events', $1)`, [`7 ${randomUUID()} ${'a'.repeat(64)} ${sealed.writer_mac}`]);
      // A replay of a genuine, already sealed event's notice at a new position.
      const noticeMac = computeNoticeMac(writerKeys.current, sealed.event_id);
      await sql(`SELECT pg_notify('chitti_events', $1)`, [`8 ${sealed.event_id} ${sealed.hash} ${noticeMac}`]);
      await sql(`SELECT pg_notify('chitti_events', '1000000 ${randomUUID()} ${'b'.repeat(64)} -')`);
      // Notices arrive in commit order: once the last is heard, all were.
      await heardUpTo(1_000_000);
      expect(await sealerWith(writerKeys, relayWitness).sealUpTo()).toMatchObject({ sealedUpTo: 6 });
      expect(await verify()).toMatchObject({ ok: true });
    });
  });
});
