import { describe, expect, it } from 'vitest';
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
    expect(() => loadConfig({ CHITTI_ENV: 'production' })).toThrow(/JWT_KEYS/);
    expect(loadConfig({ CHITTI_ENV: 'production', JWT_KEYS: `k1:${strongSecret}` }).CHITTI_ENV).toBe('production');
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
