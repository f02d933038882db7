import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { migrate } from '../../infra/postgres/migrate.js';
import { Sealer } from '../../infra/postgres/sealer.js';
import { SealAnchorFile } from '../../infra/sealing/anchor-file.js';
import { exportTrust, verifyExport } from '../../infra/sealing/export-file.js';
import { generateSealSigningKey, type SealSigningKey } from '../../infra/sealing/seal-keys.js';
import { generateWriterKey, writerKeyRing } from '../../infra/sealing/writer-keys.js';
import { tagged } from '../conformance/fixtures.js';
import { CHITTI, isolatedEnv, runNode } from '../e2e/support.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';
import { type ExportLine, TAMPER_CASES, type VerifyInput } from './export-tampering.js';
import { appendAfterClockTick, jcsHardEvent } from './support.js';

const STANDALONE = fileURLToPath(new URL('../../examples/verify-export.mjs', import.meta.url));
const ORDER = ['a', 'b', 'a', 'c', 'b', 'a', 'c', 'b', 'a', 'b', 'c', 'a'];

// A real export of a real PostgreSQL log, sealed by the real sealer, written by `chitti audit export --raw`;
// then each kind of tampering of TAMPER_CASES, checked by `chitti audit verify --file` (its function
// in-process for every case, the command itself for a few) and by the standalone examples/verify-export.mjs.
describe('offline proof: an export verifies with no database, and every kind of tampering fails it', {
  timeout: 300_000,
}, () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let dir: string;
  let key: SealSigningKey;
  let exportText: string;
  let anchorText: string;
  const intruder = generateSealSigningKey();

  /** Writes a verification's inputs to files, as an auditor would hold them. */
  async function files(name: string, input: VerifyInput) {
    const exportFile = join(dir, `${name}.ndjson`);
    await writeFile(exportFile, input.exportText);
    const args = [exportFile];
    if (input.publicKeysPem !== undefined) {
      await writeFile(join(dir, `${name}.pem`), input.publicKeysPem);
      args.push('--public-keys', join(dir, `${name}.pem`));
    }
    if (input.anchorText !== undefined) {
      await writeFile(join(dir, `${name}.anchor`), input.anchorText);
      args.push('--anchor', join(dir, `${name}.anchor`));
    }
    return args;
  }

  /** What `chitti audit verify --file` does after reading its files. */
  function chittiVerify(input: VerifyInput) {
    const trust = exportTrust({ anchorText: input.anchorText, publicKeysText: input.publicKeysPem });
    return verifyExport(input.exportText, { ...trust, maxUnsealedSeconds: 60 });
  }

  /** What a tamper case starts from: a fresh copy of the export, the real trust inputs, an intruder's key. */
  const context = () => ({ lines: freshLines(), publicKeysPem: key.published.publicKeyPem, anchorText, intruder });
  const caseOf = (kind: string) => TAMPER_CASES.find((c) => c.firstProblem.kind === kind)!;
  const freshLines = () =>
    exportText
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as ExportLine);

  beforeAll(async () => {
    database = await createTestDatabase('chitti_offline_proof');
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    await migrate(pool);
    const writerKeys = writerKeyRing([generateWriterKey()]);
    const store = new PostgresEventStore(pool, { writerKeys });
    for (const [i, stream] of ORDER.entries())
      await appendAfterClockTick(pool, store, `file-${stream}`, tagged(i + 1, { metadata: { actor: 'user-1' } }));
    await appendAfterClockTick(pool, store, 'model-detector', jcsHardEvent);
    dir = await mkdtemp(join(tmpdir(), 'chitti-offline-'));
    key = generateSealSigningKey();
    const anchorFile = new SealAnchorFile(join(dir, 'anchor.ndjson'));
    const sealer = new Sealer(pool, { signingKey: key, store, anchor: anchorFile, rangeSize: 4, writerKeys });
    expect(await sealer.sealUpTo()).toEqual({ sealsWritten: 4, sealedUpTo: 14 });
    await store.close();
    anchorText = await readFile(anchorFile.path, 'utf8');
    const exported = await runNode(
      [CHITTI, 'audit', 'export', '--raw', '--with-anchor'],
      isolatedEnv({
        DATABASE_URL: database.url,
        CHITTI_DATA_DIR: dir,
        SEAL_ANCHOR_FILE: anchorFile.path,
        LOG_LEVEL: 'warn',
        // The install's writer keys: a process without them refuses to run beside MACed events.
        WRITER_KEYS: writerKeys.current.secret.toString('base64url'),
      }),
    );
    expect(exported.code, exported.stderr).toBe(0);
    exportText = exported.stdout;
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the export holds the events with hashes, the key rotation event, the seals and their public key', () => {
    const lines = freshLines();
    const events = lines.filter((l) => l.record === undefined);
    expect(events.map((e) => e.globalPosition)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(events[12]).toMatchObject({ type: 'ModelRegistered', data: { metrics: { '\u20ac': 1e21 } } });
    expect(events[13]).toMatchObject({ type: 'SealKeyActivated', data: { keyId: key.published.keyId } });
    expect(events[14]).toMatchObject({ type: 'AccessRecorded', data: { action: 'audit.export' } });
    expect(events.every((e) => /^[0-9a-f]{64}$/.test(String(e.hash)) && e.hashVersion === 2)).toBe(true);
    expect(lines.filter((l) => l.record === 'seal-key')).toEqual([
      expect.objectContaining({ keyId: key.published.keyId, publicKeyPem: key.published.publicKeyPem }),
    ]);
    expect(lines.filter((l) => l.record === 'anchor')).toEqual(
      anchorText
        .trim()
        .split('\n')
        .map((line) => ({ record: 'anchor', ...JSON.parse(line) })),
    );
    expect(lines.filter((l) => l.record === 'seal').map((s) => [s.sealNumber, s.fromPosition, s.toPosition])).toEqual([
      [1, 1, 4],
      [2, 5, 8],
      [3, 9, 12],
      [4, 13, 14],
    ]);
  });

  it('the untouched export passes both verifiers, with the pinned key or with the anchor', async () => {
    for (const input of [
      { exportText, publicKeysPem: key.published.publicKeyPem },
      { exportText, anchorText },
    ]) {
      const report = await chittiVerify(input);
      expect(report, JSON.stringify(report.firstProblem)).toMatchObject({
        ok: true,
        eventsChecked: 15,
        sealsChecked: 4,
        sealedUpTo: 14,
        untrustedPublishedKeys: [],
      });
      const standalone = await runNode([STANDALONE, ...(await files('intact', input))]);
      expect(standalone.code, standalone.stdout + standalone.stderr).toBe(0);
      expect(standalone.stdout).toMatch(/^OK 15 events, 4 seals, 14 events sealed/);
    }
  });

  for (const tamperCase of TAMPER_CASES) {
    it(`${tamperCase.name}: both verifiers fail and say why`, async () => {
      const input = tamperCase.tamper(context());
      const report = await chittiVerify(input);
      expect(report.ok).toBe(false);
      expect(report.firstProblem).toMatchObject(tamperCase.firstProblem);
      const standalone = await runNode([STANDALONE, ...(await files('tampered', input))]);
      expect(standalone.code, standalone.stdout + standalone.stderr).toBe(1);
      expect(standalone.stdout).toMatch(tamperCase.standalone);
      expect(standalone.stdout).toMatch(/^FAILED \(\d+ problems\)/m);
    });
  }

  it('an earlier export made with --with-anchor serves as the anchor for a later one', async () => {
    const truncated = caseOf('truncated').tamper(context());
    const input = { exportText: truncated.exportText, anchorText: exportText };
    expect((await chittiVerify(input)).firstProblem).toMatchObject({ kind: 'truncated', sealNumber: 4 });
    const standalone = await runNode([STANDALONE, ...(await files('earlier-export', input))]);
    expect(standalone.code).toBe(1);
    expect(standalone.stdout).toMatch(/seal 4 .* is in the anchor but not in the export \(truncated\)/);
  });

  it('without the anchor a cut-off tail cannot be told from an older export: keep anchor copies', async () => {
    const truncated = caseOf('truncated').tamper(context());
    const report = await chittiVerify({ exportText: truncated.exportText, publicKeysPem: key.published.publicKeyPem });
    expect(report).toMatchObject({ ok: true, eventsChecked: 12 });
  });

  it('chitti audit verify --file: exit 0 intact, 1 tampered with the first problem named, 2 without trusted keys or an unreadable file', async () => {
    const env = isolatedEnv({ LOG_LEVEL: 'warn' }); // no DATABASE_URL: nothing but the files
    const intact = await runNode(
      [CHITTI, 'audit', 'verify', '--file', ...(await files('cli-intact', { exportText, anchorText }))],
      env,
    );
    expect(intact.code, intact.stdout + intact.stderr).toBe(0);
    expect(JSON.parse(intact.stdout)).toMatchObject({ ok: true, eventsChecked: 15, anchoredSealsChecked: 4 });

    const backdated = caseOf('time-reversed');
    const input = backdated.tamper(context());
    const tampered = await runNode([CHITTI, 'audit', 'verify', '--file', ...(await files('cli-tampered', input))], env);
    expect(tampered.code, tampered.stderr).toBe(1);
    expect(JSON.parse(tampered.stdout).firstProblem).toMatchObject(backdated.firstProblem);

    const keyless = await runNode([CHITTI, 'audit', 'verify', '--file', join(dir, 'cli-intact.ndjson')], env);
    expect(keyless.code).toBe(2);
    expect(keyless.stderr).toMatch(/needs the public keys you trust/);
    const missing = await runNode(
      [CHITTI, 'audit', 'verify', '--file', join(dir, 'no-such.ndjson'), '--anchor', join(dir, 'cli-intact.anchor')],
      env,
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read the export .*no-such\.ndjson: ENOENT/);
    const standaloneKeyless = await runNode([STANDALONE, join(dir, 'cli-intact.ndjson')]);
    expect(standaloneKeyless.code).toBe(2);
    expect(standaloneKeyless.stderr).toMatch(/give the keys you trust/);
  });
});
