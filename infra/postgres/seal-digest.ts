import { createHash, createHmac, type KeyObject, sign, timingSafeEqual, verify } from 'node:crypto';
import { SealKeyError } from '../sealing/seal-keys.js';

/** One sealed event: where it was, which it was, and its hash at sealing time. */
export interface SealEntry {
  readonly globalPosition: number;
  readonly eventId: string;
  readonly hash: string;
}

export interface SealContent {
  readonly sealNumber: number;
  readonly fromPosition: number;
  readonly toPosition: number;
  readonly entries: Buffer;
  readonly prevDigest: string | null;
}

const ENTRY_BYTES = 8 + 16 + 32;
const DIGEST_FORMAT = 'chitti-seal-v1';
const SIGNED_FORMAT = 'chitti-seal-v2';
export const MIN_SEAL_KEY_BYTES = 16;

/** The legacy HMAC key (SEAL_LEGACY_HMAC_KEY), only to verify format-1 seals. */

export function sealKeyBytes(key: string | Uint8Array): Buffer {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
  if (bytes.length < MIN_SEAL_KEY_BYTES)
    throw new SealKeyError(`the seal key needs at least ${MIN_SEAL_KEY_BYTES} bytes`);
  return bytes;
}

/** Packs entries as position (8 bytes) | event id (16) | sha256 (32), in the given order. */
export function encodeSealEntries(entries: readonly SealEntry[]): Buffer {
  const buffer = Buffer.alloc(entries.length * ENTRY_BYTES);
  entries.forEach((entry, i) => {
    const at = i * ENTRY_BYTES;
    buffer.writeBigInt64BE(BigInt(entry.globalPosition), at);
    Buffer.from(entry.eventId.replaceAll('-', ''), 'hex').copy(buffer, at + 8);
    Buffer.from(entry.hash, 'hex').copy(buffer, at + 24);
  });
  return buffer;
}

/** The inverse of encodeSealEntries; undefined when the bytes are not whole entries. */
export function decodeSealEntries(bytes: Buffer): SealEntry[] | undefined {
  if (bytes.length % ENTRY_BYTES !== 0) return undefined;
  const entries: SealEntry[] = [];
  for (let at = 0; at < bytes.length; at += ENTRY_BYTES) {
    const id = bytes.subarray(at + 8, at + 24).toString('hex');
    entries.push({
      globalPosition: Number(bytes.readBigInt64BE(at)),
      eventId: `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`,
      hash: bytes.subarray(at + 24, at + ENTRY_BYTES).toString('hex'),
    });
  }
  return entries;
}

/** Format 1 (legacy): HMAC-SHA256 hex over the seal's range, entries and the previous seal's digest. */
export function computeSealDigest(key: Buffer, seal: SealContent): string {
  return createHmac('sha256', key)
    .update(
      `${DIGEST_FORMAT}\n${seal.sealNumber}\n${seal.fromPosition}\n${seal.toPosition}\n${seal.prevDigest ?? ''}\n`,
    )
    .update(seal.entries)
    .digest('hex');
}

export function digestsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A format-2 seal names the Ed25519 key that signs it. */
export interface SignedSealContent extends SealContent {
  readonly keyId: string;
}

/**
 * The bytes a format-2 seal signs: the UTF-8 text
 * `chitti-seal-v2\n<sealNumber>\n<fromPosition>\n<toPosition>\n<prevDigest or empty>\n<keyId>\n`
 * followed by the packed entries. Its sha256 (hex) is the seal's digest, which the next seal links to.
 */
export function sealMessage(seal: SignedSealContent): Buffer {
  const header = `${SIGNED_FORMAT}\n${seal.sealNumber}\n${seal.fromPosition}\n${seal.toPosition}\n${seal.prevDigest ?? ''}\n${seal.keyId}\n`;
  return Buffer.concat([Buffer.from(header, 'utf8'), seal.entries]);
}

export function sealMessageDigest(message: Buffer): string {
  return createHash('sha256').update(message).digest('hex');
}

/** Ed25519 signature (base64) of the seal message. */
export function signSealMessage(privateKey: KeyObject, message: Buffer): string {
  return sign(null, message, privateKey).toString('base64');
}

export function sealSignatureValid(publicKey: KeyObject, message: Buffer, signature: string): boolean {
  try {
    return verify(null, message, publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
