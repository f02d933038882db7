import { describe, expect, it } from 'vitest';
import { isInfrastructureOutage } from './transient-errors.js';

describe('isInfrastructureOutage', () => {
  it('recognises network and PostgreSQL connection failures, not application errors', () => {
    const withCode = (code: string) => Object.assign(new Error(code), { code });
    expect(isInfrastructureOutage(withCode('ECONNREFUSED'))).toBe(true);
    expect(isInfrastructureOutage(withCode('57P01'))).toBe(true);
    expect(isInfrastructureOutage(withCode('08006'))).toBe(true);
    expect(isInfrastructureOutage(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isInfrastructureOutage(withCode('23505'))).toBe(false);
    expect(isInfrastructureOutage(new Error('scanner offline'))).toBe(false);
    expect(isInfrastructureOutage('ECONNREFUSED')).toBe(false);
    expect(isInfrastructureOutage(null)).toBe(false);
  });
});
