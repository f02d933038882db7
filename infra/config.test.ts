import { describe, expect, it } from 'vitest';
import { rateLimitProblem } from '../api/ports/rate-limiter.js';
import { ConfigError, DEV_JWT_SECRET, loadConfig, modeOf } from './config.js';

const strongSecret = 'k'.repeat(40);

describe('configuration', () => {
  it('starts embedded with defaults when nothing is configured', () => {
    const config = loadConfig({});
    expect(modeOf(config)).toBe('embedded');
    expect(config.PORT).toBe(8080);
    expect(config.JWT_KEYS).toEqual([{ kid: 'dev', secret: DEV_JWT_SECRET }]);
  });

  it('runs distributed when a database and brokers are given', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://db/chitti', KAFKA_BROKERS: 'a:9092, b:9092' });
    expect(modeOf(config)).toBe('distributed');
    expect(config.KAFKA_BROKERS).toEqual(['a:9092', 'b:9092']);
  });

  it('parses a JWT key ring for rotation by kid', () => {
    const config = loadConfig({ JWT_KEYS: `2026-11:${strongSecret},2026-10:${'o'.repeat(32)}` });
    expect(config.JWT_KEYS.map((k) => k.kid)).toEqual(['2026-11', '2026-10']);
  });

  it('refuses to start in production with a development secret', () => {
    expect(() => loadConfig({ CHITTI_ENV: 'production', SEAL_KEY: 's'.repeat(32) })).toThrow(/JWT_KEYS/);
    expect(() => loadConfig({ CHITTI_ENV: 'production', JWT_KEYS: `k1:${strongSecret}` })).toThrow(/SEAL_KEY/);
    expect(
      loadConfig({ CHITTI_ENV: 'production', JWT_KEYS: `k1:${strongSecret}`, SEAL_KEY: 's'.repeat(32) }).CHITTI_ENV,
    ).toBe('production');
  });

  it('names each bad variable without echoing secrets', () => {
    try {
      loadConfig({ PORT: 'eighty', JWT_KEYS: 'k1:short-secret' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as ConfigError).message;
      expect(message).toMatch(/PORT/);
      expect(message).toMatch(/JWT_KEYS/);
      expect(message).not.toContain('short-secret');
    }
  });
});

describe('limits, CORS and proxies in the configuration', () => {
  it('refuses a rate limit the limiter cannot take, naming the variable and the bound', () => {
    expect(() => loadConfig({ RATE_LIMIT_PER_MINUTE: '100000000' })).toThrow(/RATE_LIMIT_PER_MINUTE: .*1000000/);
    expect(() => loadConfig({ RATE_LIMIT_ANONYMOUS_PER_MINUTE: '0' })).toThrow(/RATE_LIMIT_ANONYMOUS_PER_MINUTE/);
    const largest = loadConfig({ RATE_LIMIT_PER_MINUTE: '1000000', RATE_LIMIT_ANONYMOUS_PER_MINUTE: '1000000' });
    expect(
      rateLimitProblem({ a: largest.RATE_LIMIT_PER_MINUTE, b: largest.RATE_LIMIT_ANONYMOUS_PER_MINUTE }, 60_000),
    ).toBeUndefined();
    expect(loadConfig({}).RATE_LIMIT_ANONYMOUS_PER_MINUTE).toBe(60);
  });

  it('takes CORS origins exactly, and refuses wildcards, paths and other schemes', () => {
    expect(loadConfig({}).CORS_ORIGINS).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example.com, http://localhost:5173' }).CORS_ORIGINS).toEqual([
      'https://a.example.com',
      'http://localhost:5173',
    ]);
    for (const bad of [
      '*',
      'https://a.example.com/',
      'https://a.example.com/app',
      'a.example.com',
      'ftp://a.example.com',
    ]) {
      expect(() => loadConfig({ CORS_ORIGINS: bad }), bad).toThrow(/CORS_ORIGINS/);
    }
  });

  it('trusts named proxies only, never every client', () => {
    expect(loadConfig({}).TRUST_PROXY).toBeUndefined();
    expect(loadConfig({ TRUST_PROXY: '1' }).TRUST_PROXY).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).TRUST_PROXY).toBe('loopback, 10.0.0.0/8');
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY/);
  });

  it('caps the upload size at what one Buffer can hold', () => {
    expect(() => loadConfig({ MAX_UPLOAD_BYTES: String(8 * 1024 ** 3) })).toThrow(/MAX_UPLOAD_BYTES/);
  });
});
