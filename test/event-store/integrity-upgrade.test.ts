import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../infra/postgres/audit-verify.js';
import { computeEventHashV1 } from '../../infra/postgres/event-hash.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { applyMigrations, EVENT_STORE_MIGRATIONS_DIR, migrate } from '../../infra/postgres/migrate.js';
import { computeSealDigest, encodeSealEntries } from '../../infra/postgres/seal-digest.js';
import { Sealer } from '../../infra/postgres/sealer.js';
import { SealAnchorFile } from '../../infra/sealing/anchor-file.js';
import { generateSealSigningKey, publicKeyOf } from '../../infra/sealing/seal-keys.js';
import { generateWriterKey, writerKeyRing } from '../../infra/sealing/writer-keys.js';
import { tagged } from '../conformance/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';

/**
 * An install from before migration 004 (hash version 1 rows, an HMAC seal) upgraded in place: old
 * rows keep verifying under their own rule, new ones get version 2 and chain onto the old ones, new
 * seals are signed and chain onto the old seal, which verifies only with the old key.
 */
describe('upgrading an install sealed with HMAC', () => {
  const legacyKey = 'the-old-symmetric-seal-key-0123';
  const key = generateSealSigningKey();
  const writerKeys = writerKeyRing([generateWriterKey()]);
  let anchor: SealAnchorFile;
  let database: TestDatabase;
  let pool: pg.Pool;
  let dir: string;

  beforeAll(async () => {
    database = await createTestDatabase('chitti_upgrade');
    pool = new pg.Pool({ connectionString: database.url, max: 4 });
    dir = await mkdtemp(join(tmpdir(), 'chitti-upgrade-'));
    const old = join(dir, 'migrations');
    await mkdir(old);
    for (const file of ['001_event_store.sql', '002_seals.sql', '003_checkpoints.sql'])
      await copyFile(join(EVENT_STORE_MIGRATIONS_DIR, file), join(old, file));
    expect(await applyMigrations(pool, old, 'chitti_migrations')).toEqual([1, 2, 3]);

    // Three events as the old store wrote them: v1 hashes, times from the writer's clock.
    const entries = [];
    const prev = new Map<string, string>();
    const base = Date.parse('2026-11-01T10:00:00.000Z');
    for (const [i, stream] of ['file-a', 'file-b', 'file-a'].entries()) {
      const event = tagged(i + 1);
      const version = stream === 'file-a' ? (i === 0 ? 1 : 2) : 1;
      const content = {
        streamId: stream,
        streamVersion: version,
        eventId: randomUUID(),
        type: event.type,
        schemaVersion: 1,
        data: event.data,
        metadata: event.metadata,
        // Monotonic per stream (the old store ensured that), not along positions (it did not).
        recordedAt: new Date(base + [0, -5, 1][i]!),
      };
      const hash = computeEventHashV1(content, prev.get(stream) ?? null);
      await pool.query(
        `INSERT INTO events (global_position, stream_id, stream_version, event_id, type, schema_version, data, metadata,
                             recorded_at, hash, prev_hash)
         VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9, $10)`,
        [
          i + 1,
          stream,
          version,
          content.eventId,
          content.type,
          JSON.stringify(content.data),
          JSON.stringify(content.metadata),
          content.recordedAt,
          hash,
          prev.get(stream) ?? null,
        ],
      );
      await pool.query(
        `INSERT INTO streams (stream_id, version, last_hash, last_recorded_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (stream_id) DO UPDATE SET version = $2, last_hash = $3, last_recorded_at = $4`,
        [stream, version, hash, content.recordedAt],
      );
      prev.set(stream, hash);
      entries.push({ globalPosition: i + 1, eventId: content.eventId, hash });
    }
    await pool.query('UPDATE event_log_head SET position = 3');
    const packed = encodeSealEntries(entries);
    const digest = computeSealDigest(Buffer.from(legacyKey), {
      sealNumber: 1,
      fromPosition: 1,
      toPosition: 3,
      entries: packed,
      prevDigest: null,
    });
    await pool.query(
      `INSERT INTO seals (seal_number, from_position, to_position, event_count, entries, prev_digest, digest)
       VALUES (1, 1, 3, 3, $1, NULL, $2)`,
      [packed, digest],
    );

    await migrate(pool);
    anchor = new SealAnchorFile(join(dir, 'anchor'));
    const store = new PostgresEventStore(pool, { writerKeys });
    await store.append('file-a', [tagged(4)], { expectedVersion: 2 });
    await store.append('file-c', [tagged(5)], { expectedVersion: 'no_stream' });
    const sealer = new Sealer(pool, { signingKey: key, store, anchor, writerKeys });
    expect(await sealer.sealUpTo()).toMatchObject({ sealsWritten: 1, sealedUpTo: 6 });
    await store.close();
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const trustedKeys = () => new Map([[key.published.keyId, publicKeyOf(key.published)]]);

  it('old rows keep hash version 1, new rows get version 2 and chain onto them', async () => {
    const { rows } = await pool.query('SELECT global_position, hash_version, prev_hash FROM events ORDER BY 1');
    expect(rows.map((r) => r.hash_version)).toEqual([1, 1, 1, 2, 2, 2]);
    const a2 = (await pool.query('SELECT hash FROM events WHERE global_position = 3')).rows[0].hash;
    expect(rows[3].prev_hash).toBe(a2);
  });

  it('verifies everything with the old key for the old seal', async () => {
    expect(await verifyAudit(pool, { trustedKeys: trustedKeys(), legacyHmacKey: legacyKey })).toMatchObject({
      ok: true,
      eventsChecked: 6,
      sealsChecked: 2,
      sealedUpTo: 6,
    });
  });

  it('writer MACs from the upgrade on: the cut-over is the head at migration, anchored, and old rows verify without MACs', async () => {
    const { rows } = await pool.query('SELECT writer_mac IS NOT NULL AS maced FROM events ORDER BY global_position');
    expect(rows.map((r) => r.maced)).toEqual([false, false, false, true, true, true]);
    const anchored = await anchor.read();
    expect(anchored.writerMacsFrom).toBe(4);
    expect(
      await verifyAudit(pool, {
        trustedKeys: trustedKeys(),
        legacyHmacKey: legacyKey,
        anchor: anchored,
        writerKeys,
        writerMacsFrom: anchored.writerMacsFrom,
      }),
    ).toMatchObject({ ok: true, writerMacs: 'verified', writerMacsChecked: 3 });
    // A row written around the store after the cut-over, without a MAC, is named.
    const saved = (await pool.query('SELECT writer_mac FROM events WHERE global_position = 5')).rows[0].writer_mac;
    await pool.query(`UPDATE events SET writer_mac = NULL WHERE global_position = 5`);
    try {
      const report = await verifyAudit(pool, {
        trustedKeys: trustedKeys(),
        legacyHmacKey: legacyKey,
        writerMacsFrom: anchored.writerMacsFrom,
      });
      expect(report).toMatchObject({ ok: false, writerMacs: 'presence-only' });
      expect(report.firstProblem).toMatchObject({ kind: 'unauthenticated', globalPosition: 5 });
    } finally {
      await pool.query(`UPDATE events SET writer_mac = $1 WHERE global_position = 5`, [saved]);
    }
  });

  it('without the old key the old seal is reported, never silently accepted', async () => {
    const report = await verifyAudit(pool, { trustedKeys: trustedKeys() });
    expect(report.ok).toBe(false);
    expect(report.firstProblem).toMatchObject({ kind: 'seal-unverifiable', sealNumber: 1, globalPosition: 1 });
  });
});
