import { sanitizeFileName as sanitize } from '../../domain/file/index.js';

/**
 * The file name an upload request names (query or `X-File-Name`, possibly percent-encoded), made
 * safe by the domain's one rule (domain/file/sanitize-file-name.ts); `fallback` when none is left.
 */
export function sanitizeFileName(raw: string | undefined, fallback: string): string {
  if (!raw) return fallback;
  let name = raw;
  try {
    name = decodeURIComponent(raw);
  } catch {
    // Not percent-encoded: use as given.
  }
  return sanitize(name, fallback);
}
