import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { type Config, type JwtKey, modeOf, parseJwtKeyRing, StartupError } from '../infra/config.js';
import type { Logger } from '../infra/logging.js';
import {
  isLoopbackHost,
  randomSecret,
  readOrCreateSecretFile,
  readSecretFile,
  SecretFileError,
  secretsDirOf,
} from '../infra/secrets.js';

/** Who may fall back to a generated key ring when none is configured. */
export type JwtKeySource = 'generate-on-loopback' | 'explicit';

export const jwtKeysFileOf = (dataDir: string) => join(secretsDirOf(dataDir), 'jwt-keys');

function parsedOrThrow(text: string, origin: string): JwtKey[] {
  const parsed = parseJwtKeyRing(text);
  if ('error' in parsed) throw new StartupError(`${origin}: ${parsed.error}`);
  return parsed.keys;
}

/**
 * The JWT key ring of an API-serving process: JWT_KEYS, else the file JWT_KEYS_FILE names, else (only
 * `chitti start` in embedded mode on a loopback HOST) a ring generated once into the data folder.
 * Anything reachable from other machines, or sharing tokens with other processes, must be given its
 * keys: a generated ring there would either be unknown to its peers or silently differ per host.
 */
export async function resolveJwtKeys(options: {
  config: Config;
  dataDir: string;
  logger: Logger;
  source: JwtKeySource;
  command: string;
}): Promise<JwtKey[]> {
  const { config, logger } = options;
  if (config.JWT_KEYS) return config.JWT_KEYS;
  if (config.JWT_KEYS_FILE) {
    let text: string;
    try {
      text = await readSecretFile(config.JWT_KEYS_FILE);
    } catch (error) {
      if (error instanceof SecretFileError) throw new StartupError(`JWT_KEYS_FILE: ${error.message}`);
      throw new StartupError(`JWT_KEYS_FILE: cannot read ${config.JWT_KEYS_FILE}: ${(error as Error).message}`);
    }
    const keys = parsedOrThrow(text, `JWT_KEYS_FILE ${config.JWT_KEYS_FILE}`);
    logger.info({ path: config.JWT_KEYS_FILE, kids: keys.map((k) => k.kid) }, 'JWT keys read from JWT_KEYS_FILE');
    return keys;
  }
  const refuse = (why: string) =>
    new StartupError(
      `${why}: set JWT_KEYS (kid:secret, a secret of 32+ random characters, e.g. from 'openssl rand -base64 32') ` +
        'or JWT_KEYS_FILE (a 0600 file in that format)',
    );
  if (!isLoopbackHost(config.HOST)) {
    throw refuse(`HOST=${config.HOST} is not a loopback address, so JWT keys are not generated`);
  }
  if (options.source !== 'generate-on-loopback') {
    throw refuse(`chitti ${options.command} shares tokens with the other API processes, which need the same keys`);
  }
  if (modeOf(config) !== 'embedded') {
    throw refuse('distributed mode (DATABASE_URL and KAFKA_BROKERS): every API process needs the same keys');
  }
  const path = jwtKeysFileOf(options.dataDir);
  let secret: { value: string; created: boolean };
  try {
    secret = await readOrCreateSecretFile(path, () => `local-${randomBytes(4).toString('hex')}:${randomSecret()}`);
  } catch (error) {
    if (error instanceof SecretFileError) throw new StartupError(error.message);
    throw error;
  }
  const keys = parsedOrThrow(secret.value, path);
  logger.info(
    { path, kids: keys.map((k) => k.kid) },
    secret.created ? 'JWT signing key generated (mode 0600)' : 'JWT signing keys read from the data folder',
  );
  return keys;
}
