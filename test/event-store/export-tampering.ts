import type { AuditProblemKind } from '../../infra/postgres/audit-verify.js';
import { computeEventHash, type HashVersion } from '../../infra/postgres/event-hash.js';
import {
  encodeSealEntries,
  sealMessage,
  sealMessageDigest,
  signSealMessage,
} from '../../infra/postgres/seal-digest.js';
import type { SealSigningKey } from '../../infra/sealing/seal-keys.js';

/** An export's lines, parsed: what a tamperer edits. */
export interface ExportLine {
  record?: 'seal' | 'seal-key' | 'anchor';
  [field: string]: unknown;
}

/** What one verification is given: the export text and the trust inputs (PEM keys, an anchor copy). */
export interface VerifyInput {
  readonly exportText: string;
  readonly publicKeysPem?: string;
  readonly anchorText?: string;
}

export interface TamperContext {
  /** The untouched export's lines (a fresh copy per case). */
  readonly lines: ExportLine[];
  /** The sealer's real public key (what the auditor pinned) and the real anchor. */
  readonly publicKeysPem: string;
  readonly anchorText: string;
  /** A key the auditor never pinned. */
  readonly intruder: SealSigningKey;
}

export interface TamperCase {
  readonly name: string;
  readonly tamper: (ctx: TamperContext) => VerifyInput;
  /** What `chitti audit verify --file` reports first. */
  readonly firstProblem: { kind: AuditProblemKind; globalPosition?: number; sealNumber?: number };
  /** A line the standalone verifier prints. */
  readonly standalone: RegExp;
}

const text = (lines: readonly ExportLine[]) => lines.map((l) => `${JSON.stringify(l)}\n`).join('');
const events = (lines: readonly ExportLine[]) =>
  lines.filter((l) => l.record === undefined).sort((a, b) => Number(a.globalPosition) - Number(b.globalPosition));
const seals = (lines: readonly ExportLine[]) => lines.filter((l) => l.record === 'seal');
const at = (lines: readonly ExportLine[], position: number) =>
  events(lines).find((l) => l.globalPosition === position)!;
const withTrust = (ctx: TamperContext, lines: readonly ExportLine[]): VerifyInput => ({
  exportText: text(lines),
  publicKeysPem: ctx.publicKeysPem,
});

/** What a tamperer with the formats does after an edit: recompute every hash and stream link. */
export function rehash(lines: ExportLine[]): ExportLine[] {
  const tips = new Map<string, string>();
  for (const line of events(lines)) {
    const prevHash = tips.get(String(line.streamId)) ?? null;
    line.prevHash = prevHash;
    line.hash = computeEventHash(
      {
        globalPosition: Number(line.globalPosition),
        streamId: String(line.streamId),
        streamVersion: Number(line.streamVersion),
        eventId: String(line.eventId),
        type: String(line.type),
        schemaVersion: Number(line.schemaVersion),
        data: line.data,
        metadata: line.metadata,
        recordedAt: new Date(String(line.recordedAt)),
      },
      prevHash,
      Number(line.hashVersion) as HashVersion,
    );
    tips.set(String(line.streamId), String(line.hash));
  }
  return lines;
}

/** Rewrites every seal over the (edited) events and signs it with `key`: a complete forgery. */
function resealWith(lines: ExportLine[], key: SealSigningKey, keyId = key.published.keyId): ExportLine[] {
  let prevDigest: string | null = null;
  const byPosition = new Map(events(lines).map((e) => [Number(e.globalPosition), e]));
  for (const seal of seals(lines)) {
    const entries: { globalPosition: number; eventId: string; hash: string }[] = [];
    for (let p = Number(seal.fromPosition); p <= Number(seal.toPosition); p++) {
      const e = byPosition.get(p);
      if (e) entries.push({ globalPosition: p, eventId: String(e.eventId), hash: String(e.hash) });
    }
    const content = {
      sealNumber: Number(seal.sealNumber),
      fromPosition: Number(seal.fromPosition),
      toPosition: Number(seal.toPosition),
      entries: encodeSealEntries(entries),
      prevDigest,
      keyId,
    };
    const message = sealMessage(content);
    Object.assign(seal, {
      entries: content.entries.toString('base64'),
      eventCount: entries.length,
      prevDigest,
      keyId,
      digest: sealMessageDigest(message),
      signature: signSealMessage(key.privateKey, message),
    });
    prevDigest = String(seal.digest);
  }
  return lines;
}

const editPayload = (lines: ExportLine[], position: number) => {
  const line = at(lines, position);
  line.data = { ...(line.data as object), added: ['forged-tag'] };
  return lines;
};

/**
 * One table of tampering, run against both verifiers (test/event-store/offline-proof.test.ts). The export
 * they start from: positions 1..12 FileTagged events in streams file-a/b/c (order a b a c | b a c b |
 * a b c a), 13 ModelRegistered (values only RFC 8785 canonicalises right), 14 SealKeyActivated, sealed in
 * ranges of 4 (seals 1..4, all anchored), 15 the export's own AccessRecorded event, not sealed yet.
 */
export const TAMPER_CASES: readonly TamperCase[] = [
  {
    name: 'edited payload',
    tamper: (ctx) => withTrust(ctx, editPayload(ctx.lines, 2)),
    firstProblem: { kind: 'altered', globalPosition: 2 },
    standalone: /position 2 .*content does not match its hash/,
  },
  {
    name: 'edited payload with every hash recomputed',
    tamper: (ctx) => withTrust(ctx, rehash(editPayload(ctx.lines, 2))),
    firstProblem: { kind: 'altered', globalPosition: 2, sealNumber: 1 },
    standalone: /position 2: hash differs from the one seal 1 recorded/,
  },
  {
    name: 'deleted event',
    tamper: (ctx) =>
      withTrust(
        ctx,
        ctx.lines.filter((l) => l.globalPosition !== 3),
      ),
    firstProblem: { kind: 'deleted', globalPosition: 3 },
    standalone: /position 3: missing \(deleted\)/,
  },
  {
    name: 'inserted event (later positions moved up, hashes recomputed)',
    tamper: (ctx) => {
      const copy = structuredClone(at(ctx.lines, 4));
      for (const e of events(ctx.lines)) {
        if (Number(e.globalPosition) >= 5) e.globalPosition = Number(e.globalPosition) + 1;
        if (e.streamId === copy.streamId && Number(e.globalPosition) > 5) e.streamVersion = Number(e.streamVersion) + 1;
      }
      const inserted = {
        ...copy,
        globalPosition: 5,
        streamVersion: 2,
        eventId: '0190d5a4-7c1e-7000-8000-00000000f0f0',
      };
      return withTrust(ctx, rehash([...ctx.lines, inserted]));
    },
    firstProblem: { kind: 'inserted', globalPosition: 5, sealNumber: 2 },
    standalone: /position 5: seal 2 recorded event .* \(the export has it at 6: reordered or inserted\)/,
  },
  {
    name: 'renumbered positions (two events swapped, hashes recomputed)',
    tamper: (ctx) => {
      at(ctx.lines, 5).globalPosition = -6;
      at(ctx.lines, 6).globalPosition = 5;
      at(ctx.lines, -6).globalPosition = 6;
      return withTrust(ctx, rehash(ctx.lines));
    },
    firstProblem: { kind: 'reordered', globalPosition: 5, sealNumber: 2 },
    standalone: /position 5: seal 2 recorded event .* \(the export has it at 6: reordered or inserted\)/,
  },
  {
    name: 'swapped streams (two first events trade streams, hashes recomputed)',
    tamper: (ctx) => {
      const [a, b] = [at(ctx.lines, 1), at(ctx.lines, 2)];
      [a.streamId, b.streamId] = [b.streamId, a.streamId];
      return withTrust(ctx, rehash(ctx.lines));
    },
    firstProblem: { kind: 'altered', globalPosition: 1, sealNumber: 1 },
    standalone: /position 1: hash differs from the one seal 1 recorded/,
  },
  {
    name: 'backdated time (hashes recomputed)',
    tamper: (ctx) => {
      const line = at(ctx.lines, 6);
      line.recordedAt = new Date(Date.parse(String(line.recordedAt)) - 3_600_000).toISOString();
      return withTrust(ctx, rehash(ctx.lines));
    },
    firstProblem: { kind: 'time-reversed', globalPosition: 6 },
    standalone: /position 6 .*recorded before the previous position \(backdated\)/,
  },
  {
    name: 'deleted seal',
    tamper: (ctx) =>
      withTrust(
        ctx,
        ctx.lines.filter((l) => !(l.record === 'seal' && l.sealNumber === 2)),
      ),
    firstProblem: { kind: 'seal-mismatch', sealNumber: 3 },
    standalone: /seal 3: seal 2 is missing \(deleted seal\)/,
  },
  {
    name: 'altered seal (entries edited to match a recomputed event, not re-signed)',
    tamper: (ctx) => {
      const lines = rehash(editPayload(ctx.lines, 2));
      const seal = seals(lines)[0]!;
      const entries = Buffer.from(String(seal.entries), 'base64');
      Buffer.from(String(at(lines, 2).hash), 'hex').copy(entries, 56 + 24);
      seal.entries = entries.toString('base64');
      return withTrust(ctx, lines);
    },
    firstProblem: { kind: 'seal-mismatch', globalPosition: 1, sealNumber: 1 },
    standalone: /seal 1: digest does not match its content \(altered seal\)/,
  },
  {
    name: 'forged seal (re-signed by another key under the real key id)',
    tamper: (ctx) => {
      const lines = rehash(editPayload(ctx.lines, 2));
      const realKeyId = String(seals(lines)[0]!.keyId);
      return withTrust(ctx, resealWith(lines, ctx.intruder, realKeyId));
    },
    firstProblem: { kind: 'seal-mismatch', globalPosition: 1, sealNumber: 1 },
    standalone: /seal 1: signature does not verify with key .* \(forged seal\)/,
  },
  {
    name: 'seals signed by a key not in the published set (and published in the export)',
    tamper: (ctx) => {
      const lines = resealWith(rehash(editPayload(ctx.lines, 2)), ctx.intruder);
      lines.push({ record: 'seal-key', ...ctx.intruder.published, activatedAt: new Date().toISOString() });
      return withTrust(ctx, lines);
    },
    firstProblem: { kind: 'seal-unverifiable', globalPosition: 1, sealNumber: 1 },
    standalone: /seal 1: signed by key [0-9a-f]{16}, which is not among the trusted public keys/,
  },
  {
    name: 'truncated export (last seal and its events removed) against the anchor',
    tamper: (ctx) => {
      const last = seals(ctx.lines).at(-1)!;
      const kept = ctx.lines.filter(
        (l) => l !== last && !(l.record === undefined && Number(l.globalPosition) >= Number(last.fromPosition)),
      );
      return { exportText: text(kept), anchorText: ctx.anchorText };
    },
    firstProblem: { kind: 'truncated', sealNumber: 4 },
    standalone: /seal 4 .* is in the anchor but not in the export \(truncated\)/,
  },
  {
    name: 'wrong public key',
    tamper: (ctx) => ({ exportText: text(ctx.lines), publicKeysPem: ctx.intruder.published.publicKeyPem }),
    firstProblem: { kind: 'seal-unverifiable', globalPosition: 1, sealNumber: 1 },
    standalone: /seal 1: signed by key [0-9a-f]{16}, which is not among the trusted public keys/,
  },
];
