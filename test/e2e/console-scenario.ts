import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../support/pg.js';
import { type ChittiProcess, freePort, isolatedEnv, REPO, startChitti, until, waitUntilReady } from './support.js';

/** The DICONDE sample of the README's first use: 0.1 mm pixels, so detections have mm sizes. */
export const SAMPLE = join(REPO, 'inference/samples/weld-9000000.dcm');

export interface ConsoleScenario {
  readonly url: string;
  /** API keys of an admin (`chitti start` wrote it), an auditor and a viewer, all made through the API. */
  readonly keys: { readonly admin: string; readonly auditor: string; readonly viewer: string };
  /** The sample inspected by the bundled model, judged against the sample profile, one detection reviewed. */
  readonly inspectionId: string;
  readonly chitti: ChittiProcess;
  stop(): Promise<void>;
}

async function call(url: string, token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} -> ${response.status}: ${text}`);
  // biome-ignore lint/suspicious/noExplicitAny: API answers read field by field below
  return JSON.parse(text) as any;
}

async function tokenOf(url: string, apiKey: string): Promise<string> {
  const response = await fetch(`${url}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiKey }),
  });
  if (!response.ok) throw new Error(`token exchange -> ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { accessToken: string }).accessToken;
}

/**
 * A real `chitti start` (its API, projector, sealer and bundled model) on a fresh database of the
 * test PostgreSQL, an auditor and a viewer registered through the API, and the DICOM sample
 * uploaded, inspected, evaluated against `sample-weld-level-2` and one detection confirmed.
 */
export async function startConsoleScenario(): Promise<ConsoleScenario> {
  const db: TestDatabase = await createTestDatabase('chitti_console');
  const dataDir = await mkdtemp(join(tmpdir(), 'chitti-console-'));
  let chitti: ChittiProcess | undefined;
  const stop = async () => {
    await chitti?.stop('SIGTERM');
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    chitti = startChitti(
      ['start'],
      isolatedEnv({ DATABASE_URL: db.url, CHITTI_DATA_DIR: dataDir, PORT: String(port) }),
    );
    await waitUntilReady(url, chitti);
    const adminKey = (await readFile(join(dataDir, 'admin-api-key'), 'utf8')).trim();
    const admin = await tokenOf(url, adminKey);

    const keyFor = async (role: string) => {
      const user = await call(url, admin, 'POST', '/v1/users', {
        email: `${role}@example.com`,
        displayName: `Console ${role}`,
        roles: [role],
      });
      const key = await call(url, admin, 'POST', `/v1/users/${user.userId}/api-keys`, { label: 'console' });
      return key.apiKey as string;
    };
    const keys = { admin: adminKey, auditor: await keyFor('auditor'), viewer: await keyFor('viewer') };

    const upload = await fetch(`${url}/v1/files`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${admin}`,
        'content-type': 'application/dicom',
        'x-file-name': 'weld-9000000.dcm',
      },
      body: await readFile(SAMPLE),
    });
    if (upload.status !== 201) throw new Error(`upload -> ${upload.status}: ${await upload.text()}`);
    const { fileId } = (await upload.json()) as { fileId: string };
    const { inspectionId } = await call(url, admin, 'POST', '/v1/inspections', { fileId });
    const detected = await until(
      'the sample inspected',
      async () => {
        // 404 until the projector has it in the read model.
        const inspection = await call(url, admin, 'GET', `/v1/inspections/${inspectionId}`).catch(() => undefined);
        if (inspection?.status === 'failed')
          throw new Error(`inspection failed: ${JSON.stringify(inspection.failure)}`);
        return inspection?.status === 'detected' ? inspection : undefined;
      },
      180_000,
    );
    await call(url, admin, 'POST', `/v1/inspections/${inspectionId}/evaluations`, { profileId: 'sample-weld-level-2' });
    const first = detected.detections.find((d: { role: string }) => d.role === 'live');
    if (first) {
      await call(url, admin, 'POST', `/v1/inspections/${inspectionId}/detections/${first.detectionId}/review`, {
        verdict: 'confirmed',
        comment: 'seen on the film',
      });
    }
    // The console reads the read models and the search index: wait until they show all of it.
    await until('the read model and search index caught up', async () => {
      const inspection = await call(url, admin, 'GET', `/v1/inspections/${inspectionId}`);
      const hits = await call(url, admin, 'GET', '/v1/detections?q=weld-9000000');
      const reviewed = hits.items.some((hit: { review: unknown }) => hit.review);
      return inspection.verdict && (!first || (inspection.counts.reviewed > 0 && reviewed)) ? true : undefined;
    });
    return { url, keys, inspectionId, chitti, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
