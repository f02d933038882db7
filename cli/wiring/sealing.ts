import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import { SealChainBrokenError, Sealer, UnauthenticatedEventError } from '../../infra/postgres/sealer.js';
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
    writerKeys: runtime.writerKeys,
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

/**
 * Runs the sealer every SEAL_INTERVAL_MS: each tick seals what arrived since, SEAL_EVERY events per seal.
 * A refusal (an event without a valid writer MAC, seals removed) is logged as an error naming the
 * position on every tick and counted in `chitti_sealer_refusals_total`; the unsealed tail then grows
 * until `audit verify` fails on it.
 */
export async function startSealer(runtime: Runtime, registry?: Registry): Promise<Sealer> {
  const { config, logger } = runtime;
  const sealer = await openSealer(runtime);
  // Commit notices of every writer (other processes included) become the sealer's witness.
  await runtime.store.listen();
  const refusals = new Counter({
    name: 'chitti_sealer_refusals_total',
    help: 'Sealer runs that refused to seal: unauthenticated-event (no valid writer MAC) or seal-chain-broken.',
    labelNames: ['reason'],
    registers: registry ? [registry] : [],
  });
  const refusedAt = new Gauge({
    name: 'chitti_sealer_refused_position',
    help: 'The global position the sealer refuses to seal past (no valid writer MAC); 0 when none.',
    registers: registry ? [registry] : [],
  });
  let running: Promise<unknown> = Promise.resolve();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    running = sealer
      .sealUpTo()
      .then(() => refusedAt.set(0))
      .catch((error) => {
        if (error instanceof UnauthenticatedEventError) {
          refusals.inc({ reason: error.code });
          refusedAt.set(error.globalPosition);
          logger.error(
            { err: error, code: error.code, globalPosition: error.globalPosition, eventId: error.eventId },
            `sealer refuses to seal past position ${error.globalPosition}: run chitti audit verify`,
          );
        } else if (error instanceof SealChainBrokenError) {
          refusals.inc({ reason: error.code });
          logger.error({ err: error, code: error.code }, 'sealer refuses to seal: the seal chain was cut');
        } else logger.error({ err: error }, 'sealing failed; will retry');
      })
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
export async function verificationInputs(
  runtime: Pick<Runtime, 'config' | 'dataDir' | 'writerKeys'>,
  sources: VerifySources = {},
) {
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
    writerKeys: runtime.writerKeys,
    writerMacsFrom: anchor.writerMacsFrom,
    maxUnsealedSeconds: config.SEAL_MAX_UNSEALED_SECONDS,
  };
}
