const MAX_LENGTH = 255;
const FALLBACK = 'unnamed';

/**
 * Keeps a client's file name for display only: the last path segment, NFC, no control or
 * format characters, no leading dots, whitespace collapsed, at most 255 characters with the
 * extension kept. The result is never used to build a path.
 */
export function sanitizeFileName(raw: string): string {
  const lastSegment = raw.split(/[/\\]/).pop() ?? '';
  const cleaned = lastSegment
    .normalize('NFC')
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '')
    .replace(/\s+/gu, ' ')
    .trim()
    .replace(/^\.+/, '')
    .trim();
  if (cleaned.length === 0) return FALLBACK;
  return truncateKeepingExtension(cleaned);
}

function truncateKeepingExtension(name: string): string {
  const chars = Array.from(name);
  if (chars.length <= MAX_LENGTH) return name;
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 ? Array.from(name.slice(dot)) : [];
  if (extension.length === 0 || extension.length > 16) return chars.slice(0, MAX_LENGTH).join('');
  return chars.slice(0, MAX_LENGTH - extension.length).join('') + extension.join('');
}
