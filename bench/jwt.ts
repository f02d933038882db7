/**
 * `npm run bench jwt`: access-token verification per request. The key ring verifies with HMAC
 * KeyObjects made once; the baseline is jsonwebtoken given the secret as a string (as before), which
 * first tries to parse it as a PEM public key on every call. Prints µs per verification and the ratio.
 */
import jwt from 'jsonwebtoken';
import { KeyRing } from '../api/auth/key-ring.js';
import { randomSecret } from '../infra/secrets.js';
import { runIfMain } from './support.js';

const ROUNDS = 5_000;

function perCall(fn: () => void): number {
  for (let i = 0; i < 500; i++) fn(); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1000 / ROUNDS;
}

export async function main(): Promise<void> {
  const secret = randomSecret();
  const ring = new KeyRing([{ kid: 'k1', secret }], 'chitti', 'chitti-api');
  const { token } = ring.sign('access', 'user-1', { roles: ['viewer'], akid: 'key-1', fam: 'f' }, 900);
  const options = { algorithms: ['HS256' as const], issuer: 'chitti', audience: 'chitti-api' };
  const stringSecret = perCall(() => jwt.verify(token, secret, options));
  const keyObject = perCall(() => ring.verify(token, 'access'));
  console.log(`jwt verify, string secret (before): ${stringSecret.toFixed(1)} µs/token`);
  console.log(`jwt verify, KeyRing with KeyObject:  ${keyObject.toFixed(1)} µs/token`);
  console.log(`ratio before/after: ${(stringSecret / keyObject).toFixed(1)}x`);
}

runIfMain(import.meta.url, main);
