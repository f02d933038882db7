/** A limit or window that cannot describe a rate: a programming error, refused before any state changes. */
export class InvalidRateLimitError extends Error {
  readonly code = 'invalid-rate-limit';
}

export function checkRateLimitArguments(key: string, limit: number, windowMs: number): void {
  if (key.length === 0 || key.length > 512) throw new InvalidRateLimitError('rate-limit key must be 1..512 chars');
  if (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000) {
    throw new InvalidRateLimitError(`limit must be an integer in 1..1000000, got ${limit}`);
  }
  if (!Number.isInteger(windowMs) || windowMs < 1 || windowMs > 86_400_000) {
    throw new InvalidRateLimitError(`windowMs must be an integer in 1..86400000, got ${windowMs}`);
  }
}
