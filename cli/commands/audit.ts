import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { outwardEvent } from '../../api/disclosure.js';
import { sealLines } from '../../api/routes/audit.js';
import { recordAccess } from '../../commands/access.js';
import { verifyAudit } from '../../infra/postgres/audit-verify.js';
import { postgresAuditVerifier, readSealKeys } from '../../infra/postgres/seal-records.js';
import { SealChainBrokenError, UnauthenticatedEventError } from '../../infra/postgres/sealer.js';
import { anchorLines, exportedAnchorLine } from '../../infra/sealing/anchor-file.js';
import { exportTrust, verifyExport } from '../../infra/sealing/export-file.js';
import { currentVersionOf, decodeStored } from '../../schemas/events/index.js';
import { cliActor, hostReader, intOption, parseOptions } from '../args.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { openRuntime, type Runtime } from '../runtime.js';
import type { Subcommand } from '../subcommand.js';
import { openAnchor, openSealer, verificationInputs } from '../wiring/sealing.js';

const usage = `chitti audit verify [--seal] [--anchor FILE] [--public-keys FILE]
  Recomputes every hash chain, checks recorded times, verifies every seal's Ed25519 signature with
  trusted public keys only (the anchor's, SEAL_PUBLIC_KEYS_FILE, --public-keys, this install's own
  key), compares the seals with the anchor (default: the data folder's; --anchor: a copy an auditor
  kept) and fails when events older than SEAL_MAX_UNSEALED_SECONDS are unsealed. Names the first
  altered, inserted, deleted or reordered event. Exit code 0 when intact, 1 when not (3: database unreachable).
  --seal first seals what is unsealed (needs the seal private key).

chitti audit verify --file EXPORT [--anchor FILE] [--public-keys FILE] [--max-unsealed-seconds N]
  Verifies an export (audit export --raw) with no database: the same checks, against the public keys
  of --public-keys and of the anchor copy only (the export's own seal-key lines are compared, never
  trusted), and, with --anchor, that every anchored seal is in the export. Events older than N seconds
  (default 60) before the export's last event that no seal covers fail it. The export must be complete
  (from position 1, no --to). Exit 0 intact, 1 not, 2 usage (no trusted key given, unreadable file).

chitti audit anchor
  Prints the seal anchor (NDJSON: the public keys, then every seal's number, range and digest).
  Keep a copy: verify --anchor COPY proves later that no seal was removed since.

chitti audit seal-keys
  Prints the public seal keys (PEM) this install trusts: the anchor's and its own.

chitti audit export [--from POS] [--to POS] [--raw] [--with-anchor]
  Writes the log as NDJSON (one event per line, with hash) to stdout, upcast to current
  schema versions and without secret fields (API-key hashes, named in "redacted"), the same
  redaction the API applies; --raw writes every event exactly as stored, secrets included, for
  offline hash verification (hashes verify only on --raw lines or unredacted ones). Then the
  seals over it and their public keys; --with-anchor then adds the anchor's lines ({"record":"anchor",...}),
  so that the export, kept, serves later as --anchor. The export itself is recorded as an access event.`;

const command: Subcommand = {
  summary: 'verify tamper evidence (hash chains, seals, anchor), print the anchor or keys, or export the log',
  usage,
  async run(args) {
    const { positionals, values } = parseOptions(args, {
      seal: { type: 'boolean' },
      anchor: { type: 'string' },
      'public-keys': { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      raw: { type: 'boolean' },
      file: { type: 'string' },
      'with-anchor': { type: 'boolean' },
      'max-unsealed-seconds': { type: 'string' },
    });
    const action = positionals[0];
    if (action !== 'verify' && action !== 'export' && action !== 'anchor' && action !== 'seal-keys') {
      throw new UsageError(usage);
    }
    if (values.file !== undefined) {
      if (action !== 'verify' || values.seal) throw new UsageError('--file goes with audit verify, without --seal');
      return verifyFile(values.file, values);
    }
    const runtime = await openRuntime({ name: 'audit', allowEmbedded: true });
    try {
      if (action === 'verify') return await verify(runtime, values);
      if (action === 'anchor') {
        const anchor = await openAnchor(runtime).read();
        for (const line of anchorLines(anchor)) process.stdout.write(`${JSON.stringify(line)}\n`);
        return 0;
      }
      if (action === 'seal-keys') {
        const { trustedKeys } = await verificationInputs(runtime);
        const recorded = new Map((await readSealKeys(runtime.store)).map((k) => [k.keyId, k]));
        for (const [keyId, key] of trustedKeys) {
          const since = recorded.get(keyId)?.activatedAt ?? 'not recorded in the log';
          process.stdout.write(`# key ${keyId} (Ed25519, first used ${since})\n`);
          process.stdout.write(key.export({ type: 'spki', format: 'pem' }).toString());
        }
        return 0;
      }
      return await exportLog(runtime, values);
    } finally {
      await runtime.close();
    }
  },
};

async function verify(
  runtime: Runtime,
  values: { seal?: boolean; anchor?: string; 'public-keys'?: string },
): Promise<number> {
  if (values.seal) {
    // A refusal is what verify then reports (the event without a valid writer MAC, the cut seal chain).
    await (await openSealer(runtime)).sealUpTo().catch((error: unknown) => {
      if (!(error instanceof UnauthenticatedEventError || error instanceof SealChainBrokenError)) throw error;
      runtime.logger.error({ err: error, code: error.code }, error.message);
    });
  }
  const inputs = await verificationInputs(runtime, {
    anchorText: values.anchor === undefined ? undefined : await readFile(values.anchor, 'utf8'),
    publicKeysText: values['public-keys'] === undefined ? undefined : await readFile(values['public-keys'], 'utf8'),
  });
  const report = await verifyAudit(runtime.pool, inputs);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  // The report comes first: a log too damaged to take the access record must still be reported.
  try {
    await recordAccess(
      { store: runtime.store },
      { action: 'audit.verify', resource: 'events', decision: 'allowed', reason: null },
      { actor: cliActor() },
    );
  } catch (error) {
    process.stderr.write(`could not record this verification in the log: ${(error as Error).message}\n`);
    return 1;
  }
  return report.ok ? 0 : 1;
}

/** A file the command line names: unreadable is a usage error (exit 2), not a failed verification. */
async function readNamed(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
}

/** audit verify --file: an export checked with no database, against keys the auditor names. */
async function verifyFile(
  file: string,
  values: { anchor?: string; 'public-keys'?: string; 'max-unsealed-seconds'?: string },
): Promise<number> {
  if (values.anchor === undefined && values['public-keys'] === undefined) {
    throw new UsageError(
      'verify --file needs the public keys you trust: --public-keys FILE (PEM) and/or --anchor FILE (an anchor copy)',
    );
  }
  const maxUnsealedSeconds = intOption(values['max-unsealed-seconds'], 'max-unsealed-seconds', 60);
  const text = await readNamed(file, 'the export');
  const anchorText = values.anchor === undefined ? undefined : await readNamed(values.anchor, 'the anchor');
  const publicKeysText =
    values['public-keys'] === undefined ? undefined : await readNamed(values['public-keys'], 'the public keys');
  let trust: ReturnType<typeof exportTrust>;
  try {
    trust = exportTrust({ anchorText, publicKeysText });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { trustedKeys, anchor } = trust;
  if (trustedKeys.size === 0) throw new UsageError('the anchor and --public-keys hold no public key');
  const report = await verifyExport(text, { trustedKeys, anchor, maxUnsealedSeconds });
  process.stdout.write(`${JSON.stringify({ file, ...report }, null, 2)}\n`);
  return report.ok ? EXIT.ok : EXIT.verificationFailed;
}

async function exportLog(
  runtime: Runtime,
  values: { from?: string; to?: string; raw?: boolean; 'with-anchor'?: boolean },
): Promise<number> {
  const from = intOption(values.from, 'from', 0);
  const to = intOption(values.to, 'to', Number.MAX_SAFE_INTEGER);
  await recordAccess(
    { store: runtime.store },
    {
      action: 'audit.export',
      resource: `events:${from}..${values.to ?? 'head'}${values.raw ? ' raw' : ''}`,
      decision: 'allowed',
      reason: null,
    },
    { actor: cliActor() },
  );
  const write = async (text: string) => {
    if (text && !process.stdout.write(text)) await once(process.stdout, 'drain');
  };
  let after = Math.max(0, from - 1);
  let last = after;
  for (;;) {
    const batch = await runtime.store.readAll({ after, maxCount: 1000 });
    const inRange = batch.filter((e) => e.globalPosition <= to);
    for (const event of inRange) {
      last = event.globalPosition;
      const current = values.raw
        ? event
        : { ...event, data: decodeStored(event).data, schemaVersion: currentVersionOf(event.type) };
      const shown = outwardEvent(hostReader(values.raw === true), current);
      if (shown) await write(`${JSON.stringify(shown)}\n`);
    }
    if (batch.length === 0 || inRange.length < batch.length) break;
    after = batch[batch.length - 1]!.globalPosition;
  }
  const auditVerifier = postgresAuditVerifier(runtime.pool, runtime.store, () => verificationInputs(runtime));
  await write(await sealLines({ auditVerifier }, Math.max(1, from), last));
  if (values['with-anchor']) {
    const anchor = await openAnchor(runtime).read();
    const lines = anchorLines(anchor).map(exportedAnchorLine);
    await write(lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
  }
  return 0;
}
export default command;
