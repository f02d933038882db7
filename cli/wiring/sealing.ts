import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Sealer } from '../../infra/postgres/sealer.js';
import { type AnchorContent, parseAnchor, SealAnchorFile } from '../../infra/sealing/anchor-file.js';
import { auditorTrust } from '../../infra/sealing/export-file.js';
import { loadSealSigningKey, publicKeyOf } from '../../infra/sealing/seal-keys.js';
import type { Runtime } from '../runtime.js';

/** Where this install keeps its seal key and its anchor (both outside the database). */
export function sealingPaths(runtime: Pick<Runtime, 'config' | 'dataDir'>) {
  const { config, dataDir } = runtime;
  return {
    keyFile: resolve(config.SEAL_PRIVATE_KEY_FILE ?? join(dataDir, 'seal-key.pem')),
    anchorFile: resolve(config.SEAL_ANCHOR_FILE ?? join(dataDir, 'seal-anchor.ndjson')),
  };
}

export function openAnchor(runtime: Pick<Runtime, 'config' | 'dataDir'>): SealAnchorFile {
  return new SealAnchorFile(sealingPaths(runtime).anchorFile);
}

/** This install's sealer: its key (created in the data folder on first use unless one is configured) and anchor. */
export async function openSealer(runtime: Runtime): Promise<Sealer> {
  const { config, logger } = runtime;
  const { keyFile, anchorFile } = sealingPaths(runtime);
  const { key, created } = await loadSealSigningKey({
    pem: config.SEAL_PRIVATE_KEY,
    file: keyFile,
    createIfMissing: config.SEAL_PRIVATE_KEY_FILE === undefined,
  });
  const sealer = new Sealer(runtime.pool, {
    signingKey: key,
    store: runtime.store,
    anchor: new SealAnchorFile(anchorFile),
    rangeSize: config.SEAL_EVERY,
    witness: runtime.witness,
  });
  logger.info(
    {
      keyId: key.published.keyId,
      keyFile: config.SEAL_PRIVATE_KEY ? '(SEAL_PRIVATE_KEY)' : keyFile,
      created,
      anchorFile,
      intervalMs: config.SEAL_INTERVAL_MS,
    },
    created ? `created a seal key in ${keyFile} (mode 0600)` : 'sealing with the configured key',
  );
  return sealer;
}

/** Runs the sealer every SEAL_INTERVAL_MS: each tick seals what arrived since, SEAL_EVERY events per seal. */
export async function startSealer(runtime: Runtime): Promise<Sealer> {
  const { config, logger } = runtime;
  const sealer = await openSealer(runtime);
  let running: Promise<unknown> = Promise.resolve();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    running = sealer
      .sealUpTo()
      .catch((error) => logger.error({ err: error }, 'sealing failed; will retry'))
      .finally(() => {
        busy = false;
      });
  }, config.SEAL_INTERVAL_MS);
  runtime.onClose(async () => {
    clearInterval(timer);
    await running;
  });
  return sealer;
}

export interface VerifySources {
  /** An anchor an auditor kept; default: this install's anchor file. */
  readonly anchorText?: string | undefined;
  /** PEM public keys an auditor trusts, besides the anchor's. */
  readonly publicKeysText?: string | undefined;
}

/**
 * Trusted seal keys come from outside the database only: the anchor's key lines, SEAL_PUBLIC_KEYS_FILE
 * (or keys an auditor passes), and the public half of this install's own key file when present.
 */
export async function verificationInputs(runtime: Pick<Runtime, 'config' | 'dataDir'>, sources: VerifySources = {}) {
  const { config } = runtime;
  const { keyFile } = sealingPaths(runtime);
  const anchor: AnchorContent =
    sources.anchorText !== undefined ? parseAnchor(sources.anchorText) : await openAnchor(runtime).read();
  const trustedKeys = auditorTrust({
    anchor,
    publicKeysTexts: [
      sources.publicKeysText,
      config.SEAL_PUBLIC_KEYS_FILE ? await readFile(config.SEAL_PUBLIC_KEYS_FILE, 'utf8') : undefined,
    ],
  });
  // Optional: a verifying process (an API replica) may have no access to the private key at all.
  const own = await loadSealSigningKey({ pem: config.SEAL_PRIVATE_KEY, file: keyFile, createIfMissing: false }).catch(
    () => undefined,
  );
  if (own) trustedKeys.set(own.key.published.keyId, publicKeyOf(own.key.published));
  return {
    trustedKeys,
    anchor,
    legacyHmacKey: config.SEAL_LEGACY_HMAC_KEY,
    maxUnsealedSeconds: config.SEAL_MAX_UNSEALED_SECONDS,
  };
}
