import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwtKeysFileOf, resolveJwtKeys } from '../../cli/jwt-keys.js';
import { loadConfig, StartupError } from '../../infra/config.js';
import { createLogger } from '../../infra/logging.js';
import { randomSecret } from '../../infra/secrets.js';
import { isolatedEnv, runChitti } from '../e2e/support.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chitti-jwt-keys-'));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

function resolveWith(env: Record<string, string>, command = 'start', dataDir = join(dir, 'data')) {
  const lines: string[] = [];
  const logger = createLogger(
    { level: 'info' },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );
  const result = resolveJwtKeys({
    config: loadConfig(env),
    dataDir,
    logger,
    source: command === 'start' ? 'generate-on-loopback' : 'explicit',
    command,
  });
  return { result, lines };
}

describe('the JWT key ring of an API process', () => {
  it('chitti start on loopback generates 256 random bits once, 0600 in a 0700 folder, and logs where, not what', async () => {
    const dataDir = join(dir, 'fresh');
    const first = resolveWith({}, 'start', dataDir);
    const keys = await first.result;
    expect(keys).toHaveLength(1);
    expect(Buffer.from(keys[0]!.secret, 'base64url')).toHaveLength(32);
    const file = jwtKeysFileOf(dataDir);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dataDir, 'secrets'))).mode & 0o777).toBe(0o700);
    const log = first.lines.join('');
    expect(log).toContain(file);
    expect(log).not.toContain(keys[0]!.secret);
    // Reused at the next start: tokens issued before a restart stay valid.
    expect(await resolveWith({}, 'start', dataDir).result).toEqual(keys);
    // Another install gets another secret.
    const other = await resolveWith({}, 'start', join(dir, 'other')).result;
    expect(other[0]!.secret).not.toBe(keys[0]!.secret);
  });

  it('refuses to generate for a non-loopback HOST, naming HOST and JWT_KEYS', async () => {
    await expect(resolveWith({ HOST: '0.0.0.0' }).result).rejects.toThrow(
      /HOST=0\.0\.0\.0 is not a loopback address.*JWT_KEYS/,
    );
    await expect(resolveWith({ HOST: '::' }).result).rejects.toBeInstanceOf(StartupError);
  });

  it('never generates for chitti api or a distributed start: their peers need the same keys', async () => {
    await expect(resolveWith({ DATABASE_URL: 'postgres://db/chitti' }, 'api').result).rejects.toThrow(
      /chitti api shares tokens with the other API processes.*JWT_KEYS/,
    );
    await expect(
      resolveWith({ DATABASE_URL: 'postgres://db/chitti', KAFKA_BROKERS: 'k:9092' }, 'start').result,
    ).rejects.toThrow(/distributed mode.*set JWT_KEYS/);
  });

  it('takes JWT_KEYS, or a private JWT_KEYS_FILE, in any mode', async () => {
    const secret = randomSecret();
    const given = await resolveWith({ JWT_KEYS: `k1:${secret}`, HOST: '0.0.0.0' }, 'api').result;
    expect(given).toEqual([{ kid: 'k1', secret }]);

    const file = join(dir, 'jwt-keys-file');
    const next = randomSecret();
    await writeFile(file, `k2:${next}\nk1:${secret}\n`, { mode: 0o600 });
    const fromFile = await resolveWith({ JWT_KEYS_FILE: file, HOST: '0.0.0.0' }, 'api').result;
    expect(fromFile.map((k) => k.kid)).toEqual(['k2', 'k1']);

    await chmod(file, 0o644);
    await expect(resolveWith({ JWT_KEYS_FILE: file }, 'api').result).rejects.toThrow(/readable by other users/);
    await writeFile(file, `weak:${'x'.repeat(40)}\n`, { mode: 0o600 });
    await chmod(file, 0o600);
    const weak = resolveWith({ JWT_KEYS_FILE: file }, 'api').result;
    await expect(weak).rejects.toThrow(/kid 'weak' is refused/);
    await expect(weak).rejects.not.toThrow(/xxxx/);
  });

  it('a generated key file someone made readable to others is refused, not used', async () => {
    const dataDir = join(dir, 'loose');
    await resolveWith({}, 'start', dataDir).result;
    await chmod(jwtKeysFileOf(dataDir), 0o644);
    await expect(resolveWith({}, 'start', dataDir).result).rejects.toThrow(/readable by other users.*chmod 600/);
    expect((await readFile(jwtKeysFileOf(dataDir), 'utf8')).length).toBeGreaterThan(40);
  });

  it('chitti start says why it will not start, in one line and exit code 2 (configuration)', async () => {
    const { code, output } = await runChitti(
      ['start'],
      isolatedEnv({ HOST: '0.0.0.0', CHITTI_DATA_DIR: join(dir, 'cli'), LOG_LEVEL: 'silent' }),
    );
    expect(code).toBe(2);
    expect(output).toMatch(/^chitti start: HOST=0\.0\.0\.0 is not a loopback address.*JWT_KEYS/m);
    expect(output).not.toMatch(/at .*\.ts:\d+/);
  });
});
