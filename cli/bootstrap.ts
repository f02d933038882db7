import { open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
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
import { checkClassConfidence } from '../domain/model/thresholds.js';
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

export type AdminBootstrap =
  | { readonly outcome: 'created'; readonly userId: string; readonly keyId: string; readonly keyFile: string }
  | { readonly outcome: 'new-key'; readonly userId: string; readonly keyId: string; readonly keyFile: string }
  | { readonly outcome: 'already-bootstrapped'; readonly userId: string; readonly activeKeys: number };

/**
 * `chitti admin bootstrap`: the first admin of an install whose processes never run `chitti start`
 * (distributed mode). Idempotent: once the admin exists with an active key, a repeat records
 * nothing; `newKey` issues one more key for it (a lost file), never silently. Guarded: the key goes
 * to a new 0600 file that must not exist (no key is overwritten, none is printed or logged), and
 * the first key is issued under an idempotency key, so two bootstraps at once record one admin key.
 */
export async function bootstrapAdmin(
  runtime: Pick<Runtime, 'store' | 'logger'>,
  options: { readonly keyFile: string; readonly email: string; readonly newKey: boolean; readonly actor: string },
): Promise<AdminBootstrap> {
  const deps = { store: runtime.store };
  const ctx = { ...BOOTSTRAP, actor: options.actor };
  const user = await loadUser(deps, ADMIN_ID);
  if (user.state.status === 'registered') {
    const activeKeys = Object.values(user.state.apiKeys).filter((k) => !k.revoked).length;
    if (activeKeys > 0 && !options.newKey) return { outcome: 'already-bootstrapped', userId: ADMIN_ID, activeKeys };
  }
  const first = user.state.status !== 'registered' || Object.keys(user.state.apiKeys).length === 0;
  // Claimed before anything is recorded: a file that is there stops the command here (EEXIST).
  const file = await open(options.keyFile, 'wx', 0o600);
  try {
    if (user.state.status !== 'registered') {
      await registerUser(
        deps,
        { userId: ADMIN_ID, email: options.email, displayName: 'Administrator', roles: ['admin'] },
        { ...ctx, idempotencyKey: 'bootstrap-admin' },
      );
    }
    const key = generateApiKey();
    const issued = await issueApiKey(
      { ...deps, newId: () => key.keyId, newSecret: () => key.secret },
      { userId: ADMIN_ID, label: first ? 'bootstrap admin key' : 'bootstrap admin key (reissued)' },
      first ? { ...ctx, idempotencyKey: 'bootstrap-admin-key' } : ctx,
    );
    if (issued.secret === null) {
      // Another bootstrap recorded the first key a moment ago: it holds the only copy.
      await file.close();
      await rm(options.keyFile, { force: true });
      return { outcome: 'already-bootstrapped', userId: ADMIN_ID, activeKeys: 1 };
    }
    await file.writeFile(`${key.token}\n`);
    await file.close();
    runtime.logger.info(
      { keyFile: options.keyFile, keyId: issued.keyId },
      'admin API key written (shown nowhere else)',
    );
    return { outcome: first ? 'created' : 'new-key', userId: ADMIN_ID, keyId: issued.keyId, keyFile: options.keyFile };
  } catch (error) {
    await file.close().catch(() => undefined);
    await rm(options.keyFile, { force: true });
    throw error;
  }
}

export const BUNDLED_MODELS_DIR = fileURLToPath(new URL('../inference/models/', import.meta.url));

/**
 * `thresholds.classConfidence` (per-class confidence, optional: every class at `confidence`)
 * may name only classes of the model the file deploys.
 */
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

/** Share of live traffic a newer bundled version gets on an install where another version serves. */
export const BUNDLED_CANARY_PERCENT = 10;

/** Numbers of a metrics file, flattened: `{ splits: { test: { mAP50 } } }` gives `test.mAP50`. */
function numericMetrics(value: unknown, prefix = ''): Record<string, number> {
  if (typeof value === 'number') return prefix ? { [prefix]: value } : {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  return Object.assign(
    {},
    ...Object.entries(value).map(([key, inner]) =>
      numericMetrics(inner, key === 'splits' && !prefix ? '' : prefix ? `${prefix}.${key}` : key),
    ),
  );
}

async function readMetrics(dir: string, name: string, version: string): Promise<Record<string, number>> {
  // A version's own file first (`<name>-<version>.metrics.json`), then the shared one of older releases.
  for (const file of [`${name}-${version}.metrics.json`, `${name}.metrics.json`]) {
    try {
      return numericMetrics(JSON.parse(await readFile(join(dir, file), 'utf8')));
    } catch {
      // Metrics are informative; a model without them still registers.
    }
  }
  return {};
}

/**
 * The shipped `<name>-<version>.onnx` files (untrained layout fixtures excluded), oldest first, each
 * with its metrics and its deployment thresholds and tiling: the version's own
 * `<name>-<version>.deployment.json` when there is one (a version measured at other thresholds
 * than its predecessors), else the shared `<name>.deployment.json`.
 */
export async function findBundledModels(name: string, dir = BUNDLED_MODELS_DIR) {
  const pattern = new RegExp(`^${name}-(\\d+\\.\\d+\\.\\d+)\\.onnx$`);
  const versions = (await readdir(dir))
    .map((file) => pattern.exec(file))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ file: join(dir, m[0]), version: m[1]! }))
    .sort((a, b) => a.version.localeCompare(b.version, undefined, { numeric: true }));
  const sharedFile = join(dir, `${name}.deployment.json`);
  const shared = await readBundledDeployment(sharedFile);
  return Promise.all(
    versions.map(async (v) => {
      const ownFile = join(dir, `${name}-${v.version}.deployment.json`);
      const own = await readBundledDeployment(ownFile);
      const deployment = own ?? shared;
      return {
        ...v,
        metrics: await readMetrics(dir, name, v.version),
        thresholds: deployment?.thresholds,
        tiling: deployment?.tiling,
        /** The file the thresholds and tiling came from, if any. */
        deploymentFile: own ? ownFile : shared ? sharedFile : undefined,
      };
    }),
  );
}

/** The newest shipped version, its metrics and deployment thresholds and tiling. */
export async function findBundledModel(name: string, dir = BUNDLED_MODELS_DIR) {
  return (await findBundledModels(name, dir)).at(-1);
}

/**
 * Registers the shipped versions with their shipped thresholds. A fresh install (no version of that
 * name serves) deploys the newest with all traffic, so `npm start` inspects out of the box. An
 * install where a version serves (an upgrade of Chitti) gets a newer shipped version as a canary
 * with BUNDLED_CANARY_PERCENT of the traffic: visible in the event log and the traffic split, never
 * a silent switch, and the operator promotes it, shifts traffic or rolls back. A version that has
 * been live once, is retired or runs as a shadow is left as the operator has it, so restarts
 * append nothing.
 */
export async function deployBundledModel(
  runtime: Pick<Runtime, 'store' | 'logger'>,
  models: ModelStore,
  name: string,
  dir = BUNDLED_MODELS_DIR,
): Promise<void> {
  const bundled = await findBundledModels(name, dir);
  const newest = bundled.at(-1);
  if (!newest) {
    runtime.logger.warn({ model: name }, 'no bundled model found; deploy one through the API');
    return;
  }
  const deps = { store: runtime.store };
  const state = (await loadModel(deps, name)).state;
  const serving = Object.values(state.weights).some((w) => w > 0);
  const current = state.versions[newest.version];
  if (serving && current && (current.everDeployed || current.retired || state.shadows.includes(newest.version))) return;
  // Older shipped versions are registered too (a fresh install can roll back to them); only the newest is deployed.
  // Each is inspected first: a deployment file naming a class its model lacks stops the start
  // before anything is recorded.
  const toRegister = [];
  for (const version of serving ? [newest] : bundled) {
    if (version.version in state.versions) continue;
    const inspection = await models.register(await readFile(version.file));
    try {
      checkClassConfidence(name, version.version, inspection.classes, version.thresholds);
    } catch (error) {
      throw new Error(`${version.deploymentFile} is not a valid deployment file: ${(error as Error).message}`, {
        cause: error,
      });
    }
    toRegister.push({ version, inspection });
  }
  for (const { version, inspection } of toRegister) {
    const registration = modelRegisteredData(inspection, {
      name,
      version: version.version,
      registeredBy: BOOTSTRAP.actor,
      metrics: version.metrics,
    });
    const { registeredBy: _by, task: _task, format: _format, ...input } = registration;
    const { thresholds, tiling } = version;
    // Registered with its thresholds and tiling, so any deployment of it, here or later by an operator, uses them.
    await registerModel(
      deps,
      { ...input, ...(thresholds ? { thresholds } : {}), ...(tiling ? { tiling } : {}) },
      BOOTSTRAP,
    );
  }
  const percent = serving ? BUNDLED_CANARY_PERCENT : 100;
  await deployModel(deps, { name, version: newest.version, percent }, BOOTSTRAP);
  runtime.logger.info(
    { model: name, version: newest.version, percent, previous: state.weights, thresholds: newest.thresholds },
    serving
      ? 'newer bundled model version deployed as a canary beside the serving one: promote it, shift traffic or roll back through the API'
      : 'bundled model deployed',
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
