import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { outwardEvent } from '../../api/disclosure.js';
import { sealLines } from '../../api/routes/audit.js';
import { recordAccess } from '../../commands/access.js';
import { verifyAudit } from '../../infra/postgres/audit-verify.js';
import { postgresAuditVerifier, readSealKeys } from '../../infra/postgres/seal-records.js';
import { currentVersionOf, decodeStored } from '../../schemas/events/index.js';
import { cliActor, hostReader, intOption, parseOptions } from '../args.js';
import { UsageError } from '../exit-codes.js';
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

chitti audit anchor
  Prints the seal anchor (NDJSON: the public keys, then every seal's number, range and digest).
  Keep a copy: verify --anchor COPY proves later that no seal was removed since.

chitti audit seal-keys
  Prints the public seal keys (PEM) this install trusts: the anchor's and its own.

chitti audit export [--from POS] [--to POS] [--raw]
  Writes the log as NDJSON (one event per line, with hash) to stdout, upcast to current
  schema versions and without secret fields (API-key hashes, named in "redacted"), the same
  redaction the API applies; --raw writes every event exactly as stored, secrets included, for
  offline hash verification (hashes verify only on --raw lines or unredacted ones). Then the
  seals over it and their public keys. The export itself is recorded as an access event.`;

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
    });
    const action = positionals[0];
    if (action !== 'verify' && action !== 'export' && action !== 'anchor' && action !== 'seal-keys') {
      throw new UsageError(usage);
    }
    const runtime = await openRuntime({ name: 'audit', allowEmbedded: true });
    try {
      if (action === 'verify') return await verify(runtime, values);
      if (action === 'anchor') {
        const anchor = await openAnchor(runtime).read();
        for (const key of anchor.keys) process.stdout.write(`${JSON.stringify({ kind: 'key', ...key })}\n`);
        for (const seal of anchor.seals) process.stdout.write(`${JSON.stringify({ kind: 'seal', ...seal })}\n`);
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
  if (values.seal) await (await openSealer(runtime)).sealUpTo();
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

async function exportLog(runtime: Runtime, values: { from?: string; to?: string; raw?: boolean }): Promise<number> {
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
  return 0;
}
export default command;
