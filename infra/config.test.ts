import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rateLimitProblem } from '../api/ports/rate-limiter.js';
import { ConfigError, loadConfig, modeOf } from './config.js';
import { isLoopbackHost, randomSecret, secretWeakness } from './secrets.js';

const strongSecret = randomSecret();

describe('configuration', () => {
  it('starts embedded with defaults when nothing is configured', () => {
    const config = loadConfig({});
    expect(modeOf(config)).toBe('embedded');
    expect(config.PORT).toBe(8080);
    // No built-in JWT secret: `chitti start` generates one per install (cli/jwt-keys.ts).
    expect(config.JWT_KEYS).toBeUndefined();
  });

  it('runs distributed when a database and brokers are given', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://db/chitti', KAFKA_BROKERS: 'a:9092, b:9092' });
    expect(modeOf(config)).toBe('distributed');
    expect(config.KAFKA_BROKERS).toEqual(['a:9092', 'b:9092']);
  });

  it('parses a JWT key ring for rotation by kid', () => {
    const config = loadConfig({ JWT_KEYS: `2026-11:${strongSecret},2026-10:${randomSecret()}` });
    expect(config.JWT_KEYS?.map((k) => k.kid)).toEqual(['2026-11', '2026-10']);
  });

  it('refuses weak or publicly known JWT secrets in every mode, naming the kid and never the secret', () => {
    const weak = {
      short: randomBytes(12).toString('hex').slice(0, 31),
      repeated: 'a'.repeat(48),
      pattern: 'ab'.repeat(24),
      // The development secret earlier versions shipped in this file.
      published: ['chitti', 'development', 'jwt', 'secret', 'change', 'me'].join('-'),
    };
    for (const env of ['development', 'test', 'production'] as const) {
      for (const [kid, secret] of Object.entries(weak)) {
        try {
          loadConfig({ CHITTI_ENV: env, JWT_KEYS: `${kid}:${secret}` });
          expect.unreachable(`${kid} accepted in ${env}`);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          expect((error as Error).message).toMatch(new RegExp(`JWT_KEYS.*'${kid}'`));
          expect((error as Error).message).not.toContain(secret);
        }
      }
    }
    expect(secretWeakness(weak.published)).toBe('a publicly known value');
    // 128 random bits as 32 hex digits is the weakest accepted form.
    expect(secretWeakness(randomBytes(16).toString('hex'))).toBeUndefined();
  });

  it('tells loopback hosts from the others', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.com', '128.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it('refuses the removed symmetric SEAL_KEY, naming its replacement', () => {
    expect(() => loadConfig({ SEAL_KEY: 's'.repeat(32) })).toThrow(/SEAL_LEGACY_HMAC_KEY/);
    const config = loadConfig({ SEAL_LEGACY_HMAC_KEY: 's'.repeat(32) });
    expect(config.SEAL_LEGACY_HMAC_KEY).toBe('s'.repeat(32));
    expect(config.SEAL_INTERVAL_MS).toBe(1000);
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
