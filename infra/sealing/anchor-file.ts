import { open, readFile } from 'node:fs/promises';
import type { PublishedSealKey } from './seal-keys.js';

/** One seal as the anchor remembers it: enough to notice it was removed or replaced in the database. */
export interface AnchoredSeal {
  readonly sealNumber: number;
  readonly fromPosition: number;
  readonly toPosition: number;
  readonly digest: string;
  readonly keyId: string;
  readonly sealedAt: string;
}

/** From this position on every event must carry a valid writer MAC (written once, before any seal that relies on it). */
export interface WriterMacCutOver {
  readonly kind: 'writer-macs';
  readonly fromPosition: number;
}

export type AnchorLine = ({ kind: 'key' } & PublishedSealKey) | ({ kind: 'seal' } & AnchoredSeal) | WriterMacCutOver;

export interface AnchorContent {
  /** Every key the sealer used, in first-use order: the public keys an auditor trusts. */
  readonly keys: readonly PublishedSealKey[];
  /** Seals in the order they were anchored. */
  readonly seals: readonly AnchoredSeal[];
  /** The writer-MAC cut-over, once the sealer recorded it (the first such line counts). */
  readonly writerMacsFrom?: number;
}

/**
 * The seal anchor: an append-only NDJSON file outside the database (default `<data>/seal-anchor.ndjson`)
 * that gets every seal's digest after the seal commits, and every signing key before its first seal.
 * Each append is fsynced. Someone who can edit database rows but not this file (or the copy an auditor
 * keeps) cannot remove seals unnoticed: `audit verify` wants every anchored seal in the database.
 */
export class SealAnchorFile {
  constructor(readonly path: string) {}

  async append(lines: readonly AnchorLine[]): Promise<void> {
    if (lines.length === 0) return;
    const file = await open(this.path, 'a', 0o600);
    try {
      await file.write(lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
      await file.sync();
    } finally {
      await file.close();
    }
  }

  /** The anchor's content; an empty one when the file does not exist yet. */
  async read(): Promise<AnchorContent> {
    const text = await readFile(this.path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    });
    return parseAnchor(text);
  }
}

/** The anchor line as an export made with `--with-anchor` carries it: `{"record":"anchor", ...line}`. */
export const exportedAnchorLine = (line: AnchorLine) => ({ record: 'anchor' as const, ...line });

/** The anchor's content as lines again, in the file's order: keys, the writer-MAC cut-over, seals. */
export function anchorLines(anchor: AnchorContent): AnchorLine[] {
  return [
    ...anchor.keys.map((key) => ({ kind: 'key' as const, ...key })),
    ...(anchor.writerMacsFrom === undefined
      ? []
      : [{ kind: 'writer-macs' as const, fromPosition: anchor.writerMacsFrom }]),
    ...anchor.seals.map((seal) => ({ kind: 'seal' as const, ...seal })),
  ];
}

/**
 * Parses anchor text (the file, or a copy an auditor kept, or an earlier export made with
 * `--with-anchor`: its `"record":"anchor"` lines are the anchor, its other lines are skipped). A last
 * line without its newline is a write a crash cut short and is ignored; any other unreadable line is
 * an error.
 */
export function parseAnchor(text: string): AnchorContent {
  const keys: PublishedSealKey[] = [];
  const seals: AnchoredSeal[] = [];
  let writerMacsFrom: number | undefined;
  const lines = text.split('\n');
  const complete = lines.slice(0, -1);
  complete.forEach((line, i) => {
    if (line.trim() === '') return;
    let parsed: AnchorLine & { record?: string };
    try {
      parsed = JSON.parse(line) as AnchorLine & { record?: string };
    } catch {
      throw new Error(`seal anchor line ${i + 1} is not JSON`);
    }
    if ('record' in parsed || 'globalPosition' in parsed) {
      if (parsed.record !== 'anchor') return; // an export's event, seal or key line
    }
    if (parsed.kind === 'key') {
      keys.push({ keyId: parsed.keyId, algorithm: parsed.algorithm, publicKeyPem: parsed.publicKeyPem });
    } else if (parsed.kind === 'seal') {
      const { kind: _kind, ...seal } = parsed;
      seals.push(seal);
    } else if (parsed.kind === 'writer-macs' && Number.isSafeInteger(parsed.fromPosition)) {
      writerMacsFrom ??= parsed.fromPosition;
    } else {
      throw new Error(`seal anchor line ${i + 1} is neither a key, a seal nor the writer-MAC cut-over`);
    }
  });
  return { keys, seals, ...(writerMacsFrom === undefined ? {} : { writerMacsFrom }) };
}
