import { rateLimitProblem } from '../../api/ports/rate-limiter.js';

/** A limit or window that cannot describe a rate: a programming error, refused before any state changes. */
export class InvalidRateLimitError extends Error {
  readonly code = 'invalid-rate-limit';
}

export function checkRateLimitArguments(key: string, limit: number, windowMs: number): void {
  if (key.length === 0 || key.length > 512) throw new InvalidRateLimitError('rate-limit key must be 1..512 chars');
  const problem = rateLimitProblem({ limit }, windowMs);
  if (problem) throw new InvalidRateLimitError(problem);
}
