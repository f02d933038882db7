#!/usr/bin/env node
/*
 * verify-export.mjs: checks a Chitti export with nothing but Node.js (>= 18, built-ins only).
 *
 *   chitti audit export --raw > export.ndjson     # on the Chitti host
 *   chitti audit anchor > anchor.ndjson            # keep a copy: it holds the seal keys and digests
 *                                                  # (or: an earlier export made with --with-anchor)
 *   node verify-export.mjs export.ndjson --public-keys keys.pem [--anchor anchor.ndjson]
 *                          [--max-unsealed-seconds 60]
 *
 * Exit 0: intact. Exit 1: verification failed (the reasons, one per line, on stdout, "FAIL ...").
 * Exit 2: usage (no trusted key given, unreadable file).
 *
 * Checks, as docs/integrity.md ("Formats") specifies them: every event hash (sha256 over RFC 8785
 * canonical JSON, hash versions 1 and 2), every stream chain (versions, prevHash), positions 1..n
 * without gaps, recorded times, every seal (number, range, prevDigest chain, digest, Ed25519 signature
 * by a key from --public-keys or the anchor, never one the export itself publishes), each event
 * against the entry its seal recorded, every anchored seal present with its digest, and that no
 * event older than --max-unsealed-seconds before the export's last event is left unsealed.
 *
 * The one deliberate exception to "one copy of each helper" in this repository: this file repeats what
 * Chitti's own code does (canonical JSON, event hashes, seal messages, key ids) so that it is an
 * independent second implementation an auditor can read in one sitting, with no Chitti imports.
 * `chitti audit verify --file` is the first; test/event-store/offline-proof.test.ts runs both over one
 * table of tampered exports (test/event-store/export-tampering.ts).
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** RFC 8785 (JCS) for values JSON.parse returns: keys sorted by UTF-16 code units, ES number form. */
function jcs(value) {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(jcs).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${jcs(value[k])}`).join(',')}}`;
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

function eventHash(e) {
  const object = {
    data: e.data,
    eventId: e.eventId.toLowerCase(),
    format: `chitti-event-v${e.hashVersion ?? 1}`,
    metadata: e.metadata,
    prevHash: e.prevHash ?? null,
    recordedAt: e.recordedAt,
    schemaVersion: e.schemaVersion,
    streamId: e.streamId,
    streamVersion: e.streamVersion,
    type: e.type,
  };
  if ((e.hashVersion ?? 1) >= 2) object.globalPosition = e.globalPosition;
  return sha256(Buffer.from(jcs(object), 'utf8'));
}

/** Key id: the first 16 hex digits of sha256 over the raw 32-byte Ed25519 key (the SPKI's last 32 bytes). */
const keyIdOf = (key) => sha256(key.export({ type: 'spki', format: 'der' }).subarray(-32)).slice(0, 16);

function parseArgs(argv) {
  const options = { maxUnsealedSeconds: 60 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--public-keys') options.publicKeys = argv[++i];
    else if (arg === '--anchor') options.anchor = argv[++i];
    else if (arg === '--max-unsealed-seconds') options.maxUnsealedSeconds = Number(argv[++i]);
    else if (!arg.startsWith('--') && !options.file) options.file = arg;
    else throw new Error(`unknown argument ${arg}`);
  }
  if (!options.file) throw new Error('name the export file');
  if (!options.publicKeys && !options.anchor) throw new Error('give the keys you trust: --public-keys and/or --anchor');
  if (!Number.isFinite(options.maxUnsealedSeconds)) throw new Error('--max-unsealed-seconds takes a number');
  return options;
}

function readInputs(options) {
  const trusted = new Map();
  let anchorSeals = [];
  if (options.anchor) {
    const lines = readFileSync(options.anchor, 'utf8').split('\n').slice(0, -1); // a cut-off last line is ignored
    // An anchor file's lines, or an earlier export made with --with-anchor: its "record":"anchor" lines.
    const parsed = lines
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l))
      .filter((l) => l.record === 'anchor' || (l.record === undefined && l.globalPosition === undefined));
    for (const k of parsed.filter((l) => l.kind === 'key')) trusted.set(k.keyId, createPublicKey(k.publicKeyPem));
    anchorSeals = parsed.filter((l) => l.kind === 'seal');
  }
  if (options.publicKeys) {
    const pems = readFileSync(options.publicKeys, 'utf8').match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g);
    if (!pems) throw new Error(`${options.publicKeys} holds no PEM public key`);
    for (const pem of pems) {
      const key = createPublicKey(pem);
      trusted.set(keyIdOf(key), key);
    }
  }
  for (const [id, key] of trusted) if (keyIdOf(key) !== id) throw new Error(`anchor key ${id} does not match its id`);
  return { trusted, anchorSeals, text: readFileSync(options.file, 'utf8') };
}

function verifyExport(text, trusted, anchorSeals, maxUnsealedSeconds) {
  const failures = [];
  const fail = (message) => failures.push(message);
  const events = [];
  const seals = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let record;
    try {
      record = JSON.parse(line);
    } catch {
      return fail(`line ${i + 1}: not JSON`);
    }
    if (record.record === 'seal') seals.push(record);
    else if (record.record === undefined && Number.isSafeInteger(record.globalPosition)) events.push(record);
    else if (record.record !== 'seal-key' && record.record !== 'anchor') fail(`line ${i + 1}: neither an event, a seal nor a seal key`);
  });
  events.sort((a, b) => a.globalPosition - b.globalPosition);

  // 1. Events: hashes, positions, stream chains, times, hash versions.
  const byPosition = new Map();
  const tips = new Map();
  let lastV2Time;
  let hashVersion = 1;
  events.forEach((e, i) => {
    const at = `position ${e.globalPosition} (${e.streamId} v${e.streamVersion})`;
    if (e.globalPosition !== i + 1) {
      fail(
        e.globalPosition > i + 1
          ? `position ${i + 1}: missing (deleted), the export jumps to ${e.globalPosition}`
          : `${at}: position appears twice (inserted)`,
      );
    }
    byPosition.set(e.globalPosition, e);
    if (e.redacted) fail(`${at}: redacted line, export with --raw`);
    const time = Date.parse(e.recordedAt);
    if (Number.isNaN(time) || new Date(time).toISOString() !== e.recordedAt) fail(`${at}: recordedAt is not ISO ms UTC`);
    if (eventHash(e) !== e.hash) fail(`${at}: content does not match its hash (altered)`);
    if ((e.hashVersion ?? 1) < hashVersion) fail(`${at}: hash version ${e.hashVersion} after ${hashVersion}`);
    hashVersion = Math.max(hashVersion, e.hashVersion ?? 1);
    if ((e.hashVersion ?? 1) >= 2) {
      if (lastV2Time !== undefined && time < lastV2Time) fail(`${at}: recorded before the previous position (backdated)`);
      lastV2Time = Math.max(lastV2Time ?? time, time);
    }
    const tip = tips.get(e.streamId);
    if (tip && time < tip.time) fail(`${at}: recorded before the previous version of its stream (backdated)`);
    const expected = (tip?.version ?? 0) + 1;
    if (e.streamVersion !== expected) fail(`${at}: stream version ${expected} expected (deleted, inserted or reordered)`);
    else if ((e.prevHash ?? null) !== (tip?.hash ?? null)) fail(`${at}: prevHash does not link to the previous version`);
    tips.set(e.streamId, { version: e.streamVersion, hash: e.hash, time: Math.max(time, tip?.time ?? time) });
  });

  // 2. Seals: chain, digest, signature by a trusted key, entries against the events.
  const digests = new Map();
  const sealed = new Set();
  let previous;
  for (const s of seals.sort((a, b) => a.sealNumber - b.sealNumber)) {
    const name = `seal ${s.sealNumber}`;
    digests.set(s.sealNumber, s.digest);
    const expectedNumber = (previous?.sealNumber ?? 0) + 1;
    const before = previous;
    previous = s;
    if (s.sealNumber !== expectedNumber) {
      fail(`${name}: seal ${expectedNumber} is missing (deleted seal)`);
      continue;
    }
    if (s.fromPosition !== (before?.toPosition ?? 0) + 1) fail(`${name}: does not start after seal ${expectedNumber - 1}`);
    if ((s.prevDigest ?? null) !== (before?.digest ?? null)) fail(`${name}: prevDigest does not link to the previous seal`);
    if (s.format !== 2) {
      fail(`${name}: format ${s.format} (legacy HMAC) cannot be verified with public keys`);
      continue;
    }
    const key = trusted.get(s.keyId);
    if (!key) {
      fail(`${name}: signed by key ${s.keyId}, which is not among the trusted public keys`);
      continue;
    }
    const entries = Buffer.from(s.entries, 'base64');
    const header = `chitti-seal-v2\n${s.sealNumber}\n${s.fromPosition}\n${s.toPosition}\n${s.prevDigest ?? ''}\n${s.keyId}\n`;
    const message = Buffer.concat([Buffer.from(header, 'utf8'), entries]);
    if (sha256(message) !== s.digest) {
      fail(`${name}: digest does not match its content (altered seal)`);
      continue;
    }
    if (!verify(null, message, key, Buffer.from(s.signature ?? '', 'base64'))) {
      fail(`${name}: signature does not verify with key ${s.keyId} (forged seal)`);
      continue;
    }
    if (entries.length % 56 !== 0 || entries.length / 56 !== s.eventCount) {
      fail(`${name}: malformed entries`);
      continue;
    }
    for (let at = 0; at < entries.length; at += 56) {
      const position = Number(entries.readBigInt64BE(at));
      const hex = entries.subarray(at + 8, at + 24).toString('hex');
      const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
      const hash = entries.subarray(at + 24, at + 56).toString('hex');
      const e = byPosition.get(position);
      if (position < s.fromPosition || position > s.toPosition) fail(`${name}: entry outside its range`);
      else if (!e) fail(`position ${position}: the event ${name} recorded is gone (deleted)`);
      else if (e.eventId !== id) {
        const moved = events.find((other) => other.eventId === id);
        fail(
          `position ${position}: ${name} recorded event ${id} here, not ${e.eventId}` +
            (moved ? ` (the export has it at ${moved.globalPosition}: reordered or inserted)` : ' (deleted)'),
        );
      }
      else if (e.hash !== hash) fail(`position ${position}: hash differs from the one ${name} recorded (altered)`);
      sealed.add(position);
    }
  }
  for (const e of events) {
    if (!sealed.has(e.globalPosition) && seals.some((s) => s.fromPosition <= e.globalPosition && e.globalPosition <= s.toPosition))
      fail(`position ${e.globalPosition}: inside a seal's range but not recorded by it (inserted or unverified)`);
  }

  // 3. The anchor: every anchored seal is in the export with the anchored digest.
  for (const a of anchorSeals) {
    const digest = digests.get(a.sealNumber);
    if (digest === undefined) fail(`seal ${a.sealNumber} (positions ${a.fromPosition}..${a.toPosition}) is in the anchor but not in the export (truncated)`);
    else if (digest !== a.digest) fail(`seal ${a.sealNumber} differs from the anchored one (replaced)`);
  }

  // 4. The unsealed tail: nothing older than the bound, counted back from the export's last event.
  const last = events.at(-1);
  const oldest = events.find((e) => !sealed.has(e.globalPosition));
  if (last && oldest) {
    const age = (Date.parse(last.recordedAt) - Date.parse(oldest.recordedAt)) / 1000;
    if (age > maxUnsealedSeconds) fail(`position ${oldest.globalPosition}: unsealed, ${age} s older than the export's last event`);
  }
  return { events: events.length, seals: seals.length, sealedEvents: sealed.size, failures };
}

{
  let inputs;
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
    inputs = readInputs(options);
  } catch (error) {
    process.stderr.write(`verify-export: ${error.message}\nusage: node verify-export.mjs EXPORT --public-keys PEM [--anchor ANCHOR] [--max-unsealed-seconds N]\n`);
    process.exit(2);
  }
  let result;
  try {
    result = verifyExport(inputs.text, inputs.trusted, inputs.anchorSeals, options.maxUnsealedSeconds);
  } catch (error) {
    process.stdout.write(`FAIL the export is malformed: ${error.message}\nFAILED\n`);
    process.exit(1);
  }
  for (const failure of result.failures) process.stdout.write(`FAIL ${failure}\n`);
  const summary = `${result.events} events, ${result.seals} seals, ${result.sealedEvents} events sealed, ${inputs.anchorSeals.length} anchored seals compared`;
  process.stdout.write(result.failures.length === 0 ? `OK ${summary}\n` : `FAILED (${result.failures.length} problems) ${summary}\n`);
  process.exit(result.failures.length === 0 ? 0 : 1);
}
