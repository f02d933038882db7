import { afterEach, describe, expect, it, vi } from 'vitest';
import { generateApiKey, parseApiKey, secretMatches } from '../../api/auth/api-key.js';
import { KeyRing, TokenRejectedError } from '../../api/auth/key-ring.js';
import { can, permissions, rolePermissions } from '../../api/rbac.js';
import { sanitizeFileName } from '../../api/uploads/file-name.js';
import { sniffImageType } from '../../api/uploads/sniff.js';
import { randomSecret } from '../../infra/secrets.js';

describe('RBAC table', () => {
  it.each([
    ['operator', 'files:write', true],
    ['operator', 'inspections:request', true],
    ['operator', 'inspections:review', false],
    ['reviewer', 'inspections:review', true],
    ['reviewer', 'files:write', false],
    ['ml-engineer', 'models:manage', true],
    ['ml-engineer', 'audit:export', false],
    ['auditor', 'audit:export', true],
    ['auditor', 'history:as-of', true],
    ['auditor', 'files:write', false],
    ['viewer', 'files:read', true],
    ['viewer', 'events:stream', false],
    ['viewer', 'models:manage', false],
  ] as const)('%s may %s: %s', (role, permission, expected) => {
    expect(can([role], permission)).toBe(expected);
  });

  it('gives admin every permission and every role read access', () => {
    expect(permissions.every((p) => can(['admin'], p))).toBe(true);
    for (const list of Object.values(rolePermissions)) expect(list).toContain('files:read');
  });

  it('unions the permissions of several roles', () => {
    expect(can(['viewer', 'reviewer'], 'inspections:review')).toBe(true);
    expect(can([], 'files:read')).toBe(false);
  });
});

describe('API keys', () => {
  it('round-trips the generated format and checks the secret by hash', () => {
    const key = generateApiKey();
    const parsed = parseApiKey(key.token);
    expect(parsed).toEqual({ keyId: key.keyId, secret: key.secret });
    expect(secretMatches(parsed!.secret, key.secretSha256)).toBe(true);
    expect(secretMatches(`${parsed!.secret.slice(0, -1)}0`, key.secretSha256)).toBe(parsed!.secret.endsWith('0'));
    expect(parseApiKey('chitti_short_abc')).toBeUndefined();
    expect(parseApiKey(`${key.token}x`)).toBeUndefined();
  });
});

describe('file names', () => {
  it.each([
    ['../../etc/passwd', 'passwd'],
    ['C:\\scans\\weld 7.png', 'weld 7.png'],
    ['weld%2001.png', 'weld 01.png'],
    ['.hidden.png', 'hidden.png'],
    ['bad\u0000name\u202e.png', 'badname.png'],
    ['   ', 'fallback.png'],
    [undefined, 'fallback.png'],
  ])('%j becomes %j', (raw, expected) => {
    expect(sanitizeFileName(raw, 'fallback.png')).toBe(expected);
  });

  it('keeps at most 255 UTF-8 bytes without splitting a character', () => {
    const name = sanitizeFileName('é'.repeat(300), 'x');
    expect(Buffer.byteLength(name, 'utf8')).toBeLessThanOrEqual(255);
    expect(name).toBe('é'.repeat(127));
  });
});

describe('magic bytes', () => {
  it.each([
    [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0], 'image/png'],
    [[0xff, 0xd8, 0xff, 0xe0], 'image/jpeg'],
    [[0x52, 0x49, 0x46, 0x46, 1, 2, 3, 4, 0x57, 0x45, 0x42, 0x50], 'image/webp'],
    [[0x49, 0x49, 0x2a, 0x00], 'image/tiff'],
    [[0x4d, 0x4d, 0x00, 0x2a], 'image/tiff'],
    [[0x52, 0x49, 0x46, 0x46, 1, 2, 3, 4, 0x57, 0x41, 0x56, 0x45], undefined],
    [[0x89, 0x50, 0x4e, 0x47], undefined],
    [[...Buffer.from('hello')], undefined],
  ])('%j is %s', (bytes, expected) => {
    expect(sniffImageType(Buffer.from(bytes))).toBe(expected);
  });
});

describe('access token verification', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('verifies a token once, answers its repeats from the verified claims, and still refuses it once expired', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const ring = new KeyRing([{ kid: 'k1', secret: randomSecret() }], 'chitti', 'chitti-api');
    const { token } = ring.sign('access', 'u1', { roles: ['viewer'], akid: 'key1' }, 60);
    const first = ring.verify(token, 'access');
    expect(first).toMatchObject({ sub: 'u1', roles: ['viewer'], akid: 'key1' });
    expect(ring.verify(token, 'access')).toBe(first);
    // A different text (one signature character changed) is verified on its own, and fails.
    const forged = `${token.slice(0, -2)}${token.at(-2) === 'A' ? 'B' : 'A'}${token.at(-1)}`;
    expect(() => ring.verify(forged, 'access')).toThrow(TokenRejectedError);
    vi.setSystemTime(Date.now() + 61_000);
    expect(() => ring.verify(token, 'access')).toThrow(/expired/);
  });
});
