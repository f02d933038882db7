import { describe, expect, it } from 'vitest';
import { isDependencyUnavailable, isRetryableConflict } from './unavailable.js';

describe('isDependencyUnavailable', () => {
  const withCode = (code: string) => Object.assign(new Error(code), { code });

  it('recognises network and PostgreSQL connection failures, not application errors', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', '57P01', '57P02', '57P03', '53300', '08006', '08001'])
      expect(isDependencyUnavailable(withCode(code)), code).toBe(true);
    expect(isDependencyUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDependencyUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isDependencyUnavailable(withCode('23505'))).toBe(false);
    expect(isDependencyUnavailable(withCode('40001'))).toBe(false);
    expect(isDependencyUnavailable(new Error('scanner offline'))).toBe(false);
    expect(isDependencyUnavailable('ECONNREFUSED')).toBe(false);
    expect(isDependencyUnavailable(null)).toBe(false);
  });

  it('looks through causes and aggregate errors', () => {
    expect(isDependencyUnavailable(new Error('wrapped', { cause: withCode('57P01') }))).toBe(true);
    expect(isDependencyUnavailable(new AggregateError([withCode('ECONNREFUSED')], 'connect failed'))).toBe(true);
    expect(isDependencyUnavailable(new AggregateError([withCode('23505')], 'other'))).toBe(false);
  });

  it('tells retryable transaction conflicts apart', () => {
    expect(isRetryableConflict(withCode('40001'))).toBe(true);
    expect(isRetryableConflict(withCode('40P01'))).toBe(true);
    expect(isRetryableConflict(withCode('57P01'))).toBe(false);
  });
});
