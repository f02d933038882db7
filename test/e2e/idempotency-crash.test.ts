import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../api/auth/api-key.js';
import { PostgresEventStore } from '../../infra/postgres/event-store.js';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';
import { type ChittiProcess, freePort, isolatedEnv, startChitti, waitUntilReady } from './support.js';

const CONCURRENCY = 16;
const DEADLINE_MS = 120_000;

interface Attempt {
  readonly key: string;
  status?: number;
  fileId?: string;
}

/**
 * `kill -9` of a real API process while keyed uploads are in flight, then a restart and a retry
 * of every key: each retry gets 2xx with the file id that was committed (whether or not the first
 * attempt was answered), and no upload is recorded twice.
 */
describe('Idempotency-Key across a crash of the API process', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let url: string;
  let api: ChittiProcess | undefined;
  let token: string;
  let png: Buffer;

  beforeAll(async () => {
    database = await createTestDatabase('chitti_idem_crash');
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    dataDir = await mkdtemp(join(tmpdir(), 'chitti-idem-crash-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const secret = randomBytes(32).toString('hex');
    env = isolatedEnv({
      DATABASE_URL: database.url,
      CHITTI_DATA_DIR: dataDir,
      PORT: String(port),
      JWT_KEYS: `crash:${secret}`,
      IDEMPOTENCY_LEASE_SECONDS: '2',
      RATE_LIMIT_PER_MINUTE: '1000000',
      LOG_LEVEL: 'warn',
    });
    png = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 40, g: 90, b: 160 } } })
      .png()
      .toBuffer();
  });

  afterAll(async () => {
    await api?.stop('SIGKILL');
    await pool?.end();
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  /**
   * A real admin with an API key, recorded in the log the API follows, and an access token for it
   * (a token for a user the log does not know is refused, however well signed).
   */
  async function adminToken(): Promise<string> {
    const key = generateApiKey();
    const userId = 'crash-tester';
    const metadata = { actor: 'test-setup' };
    const store = new PostgresEventStore(pool);
    await store.append(
      `user-${userId}`,
      [
        {
          type: 'UserRegistered',
          data: { userId, email: 'crash@example.com', displayName: 'Crash', registeredBy: 'test-setup' },
          metadata,
        },
        { type: 'RoleGranted', data: { userId, role: 'admin', grantedBy: 'test-setup' }, metadata },
        {
          type: 'ApiKeyIssued',
          data: {
            userId,
            keyId: key.keyId,
            secretSha256: key.secretSha256,
            label: 'crash',
            expiresAt: null,
            issuedBy: 'test-setup',
          },
          metadata,
        },
      ],
      { expectedVersion: 'no_stream' },
    );
    await store.close();
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const response = await fetch(`${url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ apiKey: key.token }),
      });
      if (response.ok) return ((await response.json()) as { accessToken: string }).accessToken;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error('the API never accepted the seeded admin key');
  }

  const upload = (key: string) =>
    fetch(`${url}/v1/files?name=crash.png`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'image/png', 'idempotency-key': key },
      body: png,
    });

  it('every retry after kill -9 gets 2xx with the committed id; nothing is applied twice', async () => {
    api = startChitti(['api'], env);
    await waitUntilReady(url, api);
    token = await adminToken();

    const attempts: Attempt[] = [];
    let stopping = false;
    const worker = async () => {
      while (!stopping) {
        const attempt: Attempt = { key: `crash-${attempts.length}-${randomBytes(4).toString('hex')}` };
        attempts.push(attempt);
        try {
          const response = await upload(attempt.key);
          attempt.status = response.status;
          if (response.status === 201) attempt.fileId = ((await response.json()) as { fileId: string }).fileId;
        } catch {
          // the process died under this request: no answer
        }
      }
    };
    const workers = Array.from({ length: CONCURRENCY }, worker);

    // Kill while requests hold their keys in the API's table (started, not answered).
    const inFlight = async () =>
      (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM api.idempotent_requests WHERE status IS NULL'))
        .rows[0]!.n;
    const answered = () => attempts.filter((a) => a.status === 201).length;
    const deadline = Date.now() + DEADLINE_MS;
    while (!(answered() >= 20 && (await inFlight()) >= 3)) {
      if (Date.now() > deadline) throw new Error(`load never reached the kill point:\n${api.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    stopping = true;
    await api.stop('SIGKILL');
    await Promise.all(workers);
    const orphaned = await inFlight();
    expect(orphaned).toBeGreaterThan(0);
    expect(attempts.filter((a) => a.status !== undefined && a.status !== 201)).toEqual([]);

    const committedBeforeRestart = await pool.query<{ file_id: string }>(
      `SELECT data->>'fileId' AS file_id FROM events WHERE type = 'FileUploaded'`,
    );
    const committed = new Set(committedBeforeRestart.rows.map((r) => r.file_id));
    const answeredIds = new Set(attempts.flatMap((a) => (a.fileId ? [a.fileId] : [])));
    const committedUnanswered = [...committed].filter((id) => !answeredIds.has(id)).length;

    api = startChitti(['api'], env);
    await waitUntilReady(url, api);

    // Retry every key as a client would: a 409 while the dead request's lease runs out says when to retry.
    const retried = new Map<string, string>();
    const retryDeadline = Date.now() + DEADLINE_MS;
    for (const attempt of attempts) {
      for (;;) {
        const response = await upload(attempt.key);
        if (response.status === 409) {
          expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
          if (Date.now() > retryDeadline) throw new Error(`key ${attempt.key} stayed in progress`);
          await new Promise((resolve) => setTimeout(resolve, Number(response.headers.get('retry-after')) * 1000));
          continue;
        }
        expect(response.status, `${attempt.key}: ${await response.clone().text()}`).toBe(201);
        const { fileId } = (await response.json()) as { fileId: string };
        expect(response.headers.get('location')).toBe(`/v1/files/${fileId}`);
        if (attempt.fileId) expect(fileId).toBe(attempt.fileId);
        retried.set(attempt.key, fileId);
        break;
      }
    }

    // Exactly one upload per key, and each key's retry names the file that was recorded for it.
    const recorded = await pool.query<{ file_id: string }>(
      `SELECT data->>'fileId' AS file_id FROM events WHERE type = 'FileUploaded'`,
    );
    expect(recorded.rows.length).toBe(attempts.length);
    expect(new Set(retried.values()).size).toBe(attempts.length);
    expect(new Set(recorded.rows.map((r) => r.file_id))).toEqual(new Set(retried.values()));
    for (const id of committed) expect([...retried.values()]).toContain(id);
    console.info(
      `kill -9 with ${orphaned} keys in progress; ${attempts.length} keys, ${answered()} answered before the kill, ` +
        `${committedUnanswered} committed but unanswered; every retry 201`,
    );
  }, 400_000);
});
