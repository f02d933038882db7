import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../infra/postgres/audit-verify.js';
import { canonicalJson } from '../../infra/postgres/canonical-json.js';
import { computeEventHashV1, computeEventHashV2 } from '../../infra/postgres/event-hash.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';
import { jcsHardEvent } from './support.js';

describe('event hashes', () => {
  it('canonical JSON ignores key order and undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 'x'], c: undefined, b: null } })).toBe(
      '{"a":{"b":null,"d":[1,"x"]},"b":1}',
    );
    expect(canonicalJson({ z: 1, a: 2 })).toBe(canonicalJson({ a: 2, z: 1 }));
  });

  it('the v2 hash covers every content field, the position, the time and the previous hash', () => {
    const content = {
      globalPosition: 7,
      streamId: 'file-1',
      streamVersion: 1,
      eventId: '0190d5a4-7c1e-7000-8000-000000000001',
      type: 'FileTagged',
      schemaVersion: 1,
      data: { fileId: '1' },
      metadata: { actor: 'u' },
      recordedAt: new Date('2026-01-01T00:00:00.000Z'),
    };
    const base = computeEventHashV2(content, null);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    const variants = [
      computeEventHashV2({ ...content, globalPosition: 8 }, null),
      computeEventHashV2({ ...content, streamId: 'file-2' }, null),
      computeEventHashV2({ ...content, streamVersion: 2 }, null),
      computeEventHashV2({ ...content, eventId: '0190d5a4-7c1e-7000-8000-000000000002' }, null),
      computeEventHashV2({ ...content, type: 'FileDeleted' }, null),
      computeEventHashV2({ ...content, schemaVersion: 2 }, null),
      computeEventHashV2({ ...content, data: { fileId: '2' } }, null),
      computeEventHashV2({ ...content, metadata: { actor: 'v' } }, null),
      computeEventHashV2({ ...content, recordedAt: new Date('2026-01-01T00:00:00.001Z') }, null),
      computeEventHashV2(content, base),
      computeEventHashV1(content, null),
    ];
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
    // v1 (rows before migration 004) ignores the position.
    const { globalPosition: _position, ...unpositioned } = content;
    expect(computeEventHashV1(unpositioned, null)).toBe(computeEventHashV1(content, null));
  });

  it('the v2 hash is sha256 of the RFC 8785 canonical JSON of the documented object', () => {
    const content = {
      globalPosition: 42,
      streamId: 'file-1',
      streamVersion: 3,
      eventId: '0190D5A4-7C1E-7000-8000-000000000001',
      type: 'FileTagged',
      schemaVersion: 1,
      data: { z: [1, 2.5, 'é'], a: null },
      metadata: { actor: 'u', note: 'line\nbreak' },
      recordedAt: new Date('2026-01-01T00:00:00.123Z'),
    };
    const object = {
      format: 'chitti-event-v2',
      globalPosition: 42,
      streamId: 'file-1',
      streamVersion: 3,
      eventId: '0190d5a4-7c1e-7000-8000-000000000001',
      type: 'FileTagged',
      schemaVersion: 1,
      data: content.data,
      metadata: content.metadata,
      recordedAt: '2026-01-01T00:00:00.123Z',
      prevHash: 'ab'.repeat(32),
    };
    const expected = createHash('sha256').update(canonicalJson(object)).digest('hex');
    expect(computeEventHashV2(content, 'ab'.repeat(32))).toBe(expected);
  });

  describe('survive the jsonb round trip', () => {
    let database: TestDatabase;
    let pool: pg.Pool;
    beforeAll(async () => {
      database = await createTestDatabase('chitti_hash');
      pool = new pg.Pool({ connectionString: database.url, max: 2 });
      await migrate(pool);
    });
    afterAll(async () => {
      await pool?.end();
      await database?.drop();
    });

    it('numbers, unicode and key orders jsonb normalises still verify', async () => {
      const store = new PostgresEventStore(pool);
      await store.append('model-detector', [jcsHardEvent], { expectedVersion: 'no_stream' });
      await store.close();
      expect(await verifyAudit(pool, { trustedKeys: new Map() })).toMatchObject({
        ok: true,
        eventsChecked: 1,
      });
    });
  });
});
