const MAX_BYTES = 255;

/**
 * The client's file name made safe to store and show: only the last path segment, no control or
 * bidi-override characters, NFC, trimmed, at most 255 UTF-8 bytes. It is a label, never a path.
 */
export function sanitizeFileName(raw: string | undefined, fallback: string): string {
  if (!raw) return fallback;
  let name = raw;
  try {
    name = decodeURIComponent(raw);
  } catch {
    // Not percent-encoded: use as given.
  }
  name = name.normalize('NFC');
  name = name.split(/[/\\]/).pop() ?? '';
  name = name
    .replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, '')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^\.+/, '')
    .trim();
  if (!name) return fallback;
  while (Buffer.byteLength(name, 'utf8') > MAX_BYTES) name = Array.from(name).slice(0, -1).join('');
  return name;
}
