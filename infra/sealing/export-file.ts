import type { KeyObject } from 'node:crypto';
import {
  type AuditProblem,
  type AuditReport,
  type AuditRow,
  type AuditSource,
  type SealRow,
  type VerifyAuditOptions,
  verifyAuditSource,
} from '../postgres/audit-verify.js';
import { type AnchorContent, parseAnchor } from './anchor-file.js';
import { type PublishedSealKey, parsePublicKeys, publicKeyOf } from './seal-keys.js';

/**
 * The trust an auditor brings: the anchor copy's key lines and PEM public keys. Used by the database
 * verify (with the install's own inputs added) and by the export verify alike.
 */
export function auditorTrust(sources: {
  anchor?: AnchorContent | undefined;
  publicKeysTexts?: readonly (string | undefined)[];
}) {
  const trustedKeys = new Map<string, KeyObject>();
  for (const published of sources.anchor?.keys ?? []) trustedKeys.set(published.keyId, publicKeyOf(published));
  for (const text of sources.publicKeysTexts ?? [])
    if (text) for (const [id, key] of parsePublicKeys(text)) trustedKeys.set(id, key);
  return trustedKeys;
}

/** The inputs of an export verify from an auditor's files' text. */
export function exportTrust(sources: { anchorText?: string | undefined; publicKeysText?: string | undefined }) {
  const anchor = sources.anchorText === undefined ? undefined : parseAnchor(sources.anchorText);
  return { anchor, trustedKeys: auditorTrust({ anchor, publicKeysTexts: [sources.publicKeysText] }) };
}

/** An event line of an export (`chitti audit export --raw`, `GET /v1/audit/export?raw=true`). */
interface ExportEventLine {
  globalPosition: number;
  streamId: string;
  streamVersion: number;
  eventId: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: unknown;
  recordedAt: string;
  hash: string;
  prevHash?: string | null;
  hashVersion?: number;
  redacted?: string[];
}

interface ExportSealLine {
  record: 'seal';
  sealNumber: number;
  fromPosition: number;
  toPosition: number;
  eventCount: number;
  entries: string;
  prevDigest: string | null;
  digest: string;
  format: number;
  keyId: string | null;
  signature: string | null;
}

/** What an export holds, read back: an audit source, and the keys it publishes (to compare, not to trust). */
export interface ParsedExport {
  readonly source: AuditSource;
  readonly publishedKeys: readonly PublishedSealKey[];
  readonly eventCount: number;
}

const isInteger = (value: unknown): value is number => Number.isSafeInteger(value);
const isEventLine = (line: Record<string, unknown>): boolean =>
  isInteger(line.globalPosition) &&
  typeof line.streamId === 'string' &&
  isInteger(line.streamVersion) &&
  typeof line.eventId === 'string' &&
  typeof line.type === 'string' &&
  isInteger(line.schemaVersion) &&
  typeof line.recordedAt === 'string' &&
  typeof line.hash === 'string';

/**
 * Reads an export's NDJSON (event lines, then seal-key and seal lines) into an audit source, so that
 * `verifyAuditSource` checks it exactly as it checks the database. The export has no log head: its
 * last event is taken as the head, and its time as "now" for the unsealed-age bound. Lines are
 * verified in position order; a malformed line or a position given twice is reported, not skipped.
 */
export function parseExport(text: string): ParsedExport {
  const problems: AuditProblem[] = [];
  const events = new Map<number, AuditRow>();
  const seals: SealRow[] = [];
  const publishedKeys: PublishedSealKey[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    const lineNumber = i + 1;
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      problems.push({ kind: 'altered', detail: `export line ${lineNumber} is not JSON` });
      return;
    }
    if (line.record === 'anchor') {
      // The anchor as it stood at export time (--with-anchor): for the auditor to keep, never trusted here.
    } else if (line.record === 'seal-key') {
      publishedKeys.push(line as unknown as PublishedSealKey);
    } else if (line.record === 'seal') {
      const seal = line as unknown as ExportSealLine;
      seals.push({
        seal_number: seal.sealNumber,
        from_position: String(seal.fromPosition),
        to_position: String(seal.toPosition),
        event_count: seal.eventCount,
        entries: Buffer.from(String(seal.entries ?? ''), 'base64'),
        prev_digest: seal.prevDigest ?? null,
        digest: String(seal.digest),
        format: seal.format,
        key_id: seal.keyId ?? null,
        signature: seal.signature ?? null,
      });
    } else if (line.record === undefined && isEventLine(line)) {
      const event = line as unknown as ExportEventLine;
      const at = { globalPosition: event.globalPosition, streamId: event.streamId, eventId: event.eventId };
      if (events.has(event.globalPosition)) {
        problems.push({ ...at, kind: 'inserted', detail: `position ${event.globalPosition} appears twice` });
        return;
      }
      const recordedAt = new Date(event.recordedAt);
      events.set(event.globalPosition, {
        global_position: String(event.globalPosition),
        stream_id: event.streamId,
        stream_version: event.streamVersion,
        event_id: event.eventId,
        type: event.type,
        schema_version: event.schemaVersion,
        data: event.data,
        metadata: event.metadata,
        recorded_at: recordedAt,
        // The store writes millisecond ISO text; any other spelling of the time was edited.
        finer_than_ms: Number.isNaN(recordedAt.getTime()) || recordedAt.toISOString() !== event.recordedAt,
        hash: event.hash,
        prev_hash: event.prevHash ?? null,
        hash_version: event.hashVersion ?? 1,
        // Exports carry no writer MACs (checking one needs the writer key, which an auditor does
        // not hold): the sealer checked each MAC before it signed the seal that covers the event.
        writer_mac: null,
      });
      if (event.redacted) {
        problems.push({
          ...at,
          kind: 'altered',
          detail: `line ${lineNumber} is redacted (${event.redacted.join(', ')}): verify an export made with --raw`,
        });
      }
    } else {
      problems.push({
        kind: 'altered',
        detail: `export line ${lineNumber} is neither an event, a seal nor a seal key`,
      });
    }
  });
  seals.sort((a, b) => a.seal_number - b.seal_number);
  const positions = [...events.keys()].sort((a, b) => a - b);
  const rows = positions.map((p) => events.get(p)!);
  const eventIds = new Set(rows.map((row) => row.event_id));
  const last = rows.at(-1);
  return {
    publishedKeys,
    eventCount: rows.length,
    source: {
      readProblems: problems,
      async bounds() {
        return {
          head: last ? Number(last.global_position) : 0,
          sealed: Math.max(0, ...seals.map((s) => Number(s.to_position))),
          now: last?.recorded_at,
        };
      },
      async events(after, upTo, limit) {
        const start = firstIndexAbove(positions, after);
        return rows.slice(start, start + limit).filter((row) => Number(row.global_position) <= upTo);
      },
      async seals(afterNumber, limit) {
        return seals.filter((s) => s.seal_number > afterNumber).slice(0, limit);
      },
      async hasEvent(eventId) {
        return eventIds.has(eventId);
      },
      async beyondHead() {
        return undefined;
      },
    },
  };
}

function firstIndexAbove(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (sorted[mid]! <= value) low = mid + 1;
    else high = mid;
  }
  return low;
}

export interface VerifyExportOptions extends Omit<VerifyAuditOptions, 'batchSize'> {
  readonly trustedKeys: ReadonlyMap<string, KeyObject>;
  readonly anchor?: AnchorContent | undefined;
}

export interface ExportReport extends AuditReport {
  /** Keys the export publishes that are not among the trusted ones (compare them before pinning them). */
  readonly untrustedPublishedKeys: readonly string[];
}

/**
 * Verifies an export with no database: every hash and stream chain, the recorded times, every seal
 * against trusted keys only (never the export's own seal-key lines), the events against their seals,
 * and, given an anchor, that every anchored seal is in the export with its digest.
 */
export async function verifyExport(text: string, options: VerifyExportOptions): Promise<ExportReport> {
  const parsed = parseExport(text);
  const keyProblems: AuditProblem[] = [];
  for (const published of parsed.publishedKeys) {
    try {
      publicKeyOf(published);
    } catch {
      keyProblems.push({ kind: 'seal-mismatch', detail: `the published key ${published.keyId} does not match its id` });
    }
  }
  const source: AuditSource = {
    ...parsed.source,
    readProblems: [...(parsed.source.readProblems ?? []), ...keyProblems],
  };
  const report = await verifyAuditSource(source, options);
  return {
    ...report,
    untrustedPublishedKeys: parsed.publishedKeys.map((k) => k.keyId).filter((id) => !options.trustedKeys.has(id)),
  };
}
