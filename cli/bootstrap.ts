import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { generateApiKey } from '../api/auth/api-key.js';
import {
  createAcceptanceProfile,
  deployModel,
  issueApiKey,
  loadAcceptanceProfile,
  loadModel,
  loadUser,
  registerModel,
  registerUser,
} from '../commands/index.js';
import { SAMPLE_PROFILE } from '../domain/acceptance/index.js';
import { type ModelStore, modelRegisteredData } from '../inference/model-store.js';
import { Thresholds, Tiling } from '../schemas/events/index.js';
import type { Runtime } from './runtime.js';

const ADMIN_ID = 'admin';
const ADMIN_KEY_FILE = 'admin-api-key';
const BOOTSTRAP = { actor: 'system:bootstrap' };

export async function readAdminApiKey(dataDir: string): Promise<string | undefined> {
  try {
    return (await readFile(join(dataDir, ADMIN_KEY_FILE), 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/**
 * First start: an admin user and an API key, written to a 0600 file under the data dir (never to
 * the log). Later starts reuse it; a lost file gets a fresh key, old ones stay valid until revoked.
 */
export async function ensureAdmin(runtime: Runtime): Promise<string> {
  const deps = { store: runtime.store };
  const path = join(runtime.dataDir, ADMIN_KEY_FILE);
  const user = await loadUser(deps, ADMIN_ID);
  if (user.version === 0) {
    await registerUser(
      deps,
      { userId: ADMIN_ID, email: 'admin@chitti.local', displayName: 'Administrator', roles: ['admin'] },
      { ...BOOTSTRAP, idempotencyKey: 'bootstrap-admin' },
    );
  }
  if (await readAdminApiKey(runtime.dataDir)) return path;
  const key = generateApiKey();
  await issueApiKey(
    { ...deps, newId: () => key.keyId, newSecret: () => key.secret },
    { userId: ADMIN_ID, label: 'bootstrap admin key' },
    BOOTSTRAP,
  );
  await writeFile(path, `${key.token}\n`, { mode: 0o600 });
  runtime.logger.info({ path }, 'admin API key written (shown nowhere else)');
  return path;
}

export const BUNDLED_MODELS_DIR = fileURLToPath(new URL('../inference/models/', import.meta.url));

const BundledDeployment = z.object({ thresholds: Thresholds, tiling: Tiling.optional() });

/**
 * `<name>.deployment.json`: the thresholds the shipped model was measured at and is deployed
 * with, and its tiling of large images. Optional (the global defaults apply without it), but a
 * file that is there must be valid: silently serving other thresholds than the measured ones
 * would be worse than not starting.
 */
async function readBundledDeployment(path: string): Promise<z.infer<typeof BundledDeployment> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path} is not JSON: ${(error as Error).message}`);
  }
  const parsed = BundledDeployment.safeParse(json);
  if (!parsed.success) throw new Error(`${path} is not a valid deployment file:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** The newest shipped `<name>-<version>.onnx` (untrained layout fixtures excluded), its metrics and deployment thresholds. */
export async function findBundledModel(name: string, dir = BUNDLED_MODELS_DIR) {
  const pattern = new RegExp(`^${name}-(\\d+\\.\\d+\\.\\d+)\\.onnx$`);
  const versions = (await readdir(dir))
    .map((file) => pattern.exec(file))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ file: join(dir, m[0]), version: m[1]! }))
    .sort((a, b) => a.version.localeCompare(b.version, undefined, { numeric: true }));
  const newest = versions.at(-1);
  if (!newest) return undefined;
  let metrics: Record<string, number> = {};
  try {
    const raw = JSON.parse(await readFile(join(dir, `${name}.metrics.json`), 'utf8')) as Record<string, unknown>;
    metrics = Object.fromEntries(Object.entries(raw).filter((e): e is [string, number] => typeof e[1] === 'number'));
  } catch {
    // Metrics are informative; a model without them still registers.
  }
  const deployment = await readBundledDeployment(join(dir, `${name}.deployment.json`));
  return { ...newest, metrics, thresholds: deployment?.thresholds, tiling: deployment?.tiling };
}

/**
 * Registers the shipped model with its shipped thresholds and gives it all traffic when no version
 * of that name serves yet, so `npm start` inspects out of the box. Once something serves, traffic
 * is never moved here: a newer shipped version (after an upgrade of Chitti) is only registered,
 * for an operator to deploy, canary or shadow.
 */
export async function deployBundledModel(
  runtime: Pick<Runtime, 'store' | 'logger'>,
  models: ModelStore,
  name: string,
  dir = BUNDLED_MODELS_DIR,
): Promise<void> {
  const bundled = await findBundledModel(name, dir);
  if (!bundled) {
    runtime.logger.warn({ model: name }, 'no bundled model found; deploy one through the API');
    return;
  }
  const deps = { store: runtime.store };
  const state = (await loadModel(deps, name)).state;
  const serving = Object.values(state.weights).some((w) => w > 0);
  if (serving && bundled.version in state.versions) return;
  const inspection = await models.register(await readFile(bundled.file));
  const registration = modelRegisteredData(inspection, {
    name,
    version: bundled.version,
    registeredBy: BOOTSTRAP.actor,
    metrics: bundled.metrics,
  });
  const { registeredBy: _by, task: _task, format: _format, ...input } = registration;
  const { thresholds, tiling } = bundled;
  // Registered with its thresholds and tiling, so any deployment of it, here or later by an operator, uses them.
  await registerModel(
    deps,
    { ...input, ...(thresholds ? { thresholds } : {}), ...(tiling ? { tiling } : {}) },
    BOOTSTRAP,
  );
  if (serving) {
    runtime.logger.info(
      { model: name, version: bundled.version, serving: state.weights },
      'bundled model version registered, not deployed (another version serves): deploy it or run it as a shadow through the API',
    );
    return;
  }
  await deployModel(deps, { name, version: bundled.version, percent: 100 }, BOOTSTRAP);
  runtime.logger.info(
    { model: name, version: bundled.version, sha256: inspection.sha256, thresholds },
    'bundled model deployed',
  );
}

/**
 * Records the sample acceptance profile (labelled a sample: illustrative limits, not a standard's
 * text) so a first inspection can be evaluated. A repeat records nothing; a profile someone
 * revised or retired is left as it is.
 */
export async function ensureSampleProfile(runtime: Pick<Runtime, 'store'>): Promise<void> {
  const deps = { store: runtime.store };
  const { state } = await loadAcceptanceProfile(deps, SAMPLE_PROFILE.profileId);
  if (state.status !== 'absent') return;
  await createAcceptanceProfile(deps, SAMPLE_PROFILE, { ...BOOTSTRAP, correlationId: 'bootstrap-sample-profile' });
}
