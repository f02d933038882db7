const MAX_LENGTH = 255;
const MAX_BYTES = 255;
const FALLBACK = 'unnamed';

/**
 * Keeps a client's file name for display only: the last path segment, NFC, no control or
 * format characters, no leading dots, whitespace collapsed, at most 255 characters and 255 UTF-8
 * bytes (never splitting a character) with the extension kept. The result is never used to build
 * a path. The one rule: the upload route and the decider both apply it.
 */
export function sanitizeFileName(raw: string, fallback = FALLBACK): string {
  const lastSegment = raw.normalize('NFC').split(/[/\\]/).pop() ?? '';
  const cleaned = lastSegment
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '')
    .replace(/\s+/gu, ' ')
    .trim()
    .replace(/^\.+/, '')
    .trim();
  if (cleaned.length === 0) return fallback;
  return truncateKeepingExtension(cleaned);
}

const fits = (chars: readonly string[]) =>
  chars.length <= MAX_LENGTH && Buffer.byteLength(chars.join(''), 'utf8') <= MAX_BYTES;

function truncateKeepingExtension(name: string): string {
  const chars = Array.from(name);
  if (fits(chars)) return name;
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 ? Array.from(name.slice(dot)) : [];
  const keep = extension.length === 0 || extension.length > 16 ? [] : extension;
  const stem = chars.slice(0, chars.length - keep.length);
  while (stem.length > 0 && !fits([...stem, ...keep])) stem.pop();
  return stem.join('') + keep.join('');
}
