import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainRuleViolation } from '../domain/errors.js';
import type { ModelState } from '../domain/model/index.js';
import { accessStreamId, recordAccess } from './access.js';
import { loadAggregateByStreamId } from './aggregates.js';
import { sha256Hex } from './api-keys.js';
import type { CommandContext } from './context.js';
import type { CommandDeps } from './deps.js';
import { InvalidCommandError } from './errors.js';
import {
  deployModel,
  loadModel,
  modelStreamId,
  registerModel,
  retireModel,
  rollBackModel,
  shiftTraffic,
} from './models.js';
import { startTestStore, uniqueId } from './testing/postgres-store.js';
import { grantRole, issueApiKey, loadUser, registerUser, revokeApiKey } from './users.js';

let env: Awaited<ReturnType<typeof startTestStore>>;
let deps: CommandDeps;
let secrets = 0;
beforeAll(async () => {
  env = await startTestStore();
  deps = {
    store: env.store,
    clock: () => new Date('2026-11-23T10:00:00Z'),
    newId: () => uniqueId('key'),
    newSecret: () => `secret-${secrets++}`,
  };
});
afterAll(async () => {
  await env.stop();
});

const ml: CommandContext = { actor: 'ml-1' };
const admin: CommandContext = { actor: 'admin-1' };

describe('model handlers', () => {
  it('canary, shift, rollback and retire through the store', async () => {
    const name = uniqueId('m').toLowerCase();
    const reg = (version: string, c: string) =>
      registerModel(
        deps,
        {
          name,
          version,
          sha256: c.repeat(64),
          sizeBytes: 1,
          outputLayout: 'yolo-nms',
          classes: ['crack'],
          inputSize: { width: 640, height: 640 },
        },
        ml,
      );
    await reg('1.0.0', 'a');
    await reg('1.1.0', 'b');
    expect((await reg('1.0.0', 'a')).events).toEqual([]);
    await expect(reg('1.0.0', 'c')).rejects.toMatchObject({ code: 'model.version-already-registered' });
    await deployModel(deps, { name, version: '1.0.0' }, ml);
    const canary = await deployModel(deps, { name, version: '1.1.0', percent: 10 }, ml);
    expect(canary.events[0]!.data).toMatchObject({ weights: { '1.0.0': 90, '1.1.0': 10 }, canary: true });
    await expect(shiftTraffic(deps, { name, weights: { '1.0.0': 60, '1.1.0': 30 } }, ml)).rejects.toBeInstanceOf(
      DomainRuleViolation,
    );
    const shifted = await shiftTraffic(deps, { name, weights: { '1.0.0': 50, '1.1.0': 50 } }, ml);
    await rollBackModel(deps, { name, toVersion: '1.0.0', reason: 'false positives up' }, ml);
    await retireModel(deps, { name, version: '1.1.0', reason: 'superseded' }, ml);
    await expect(deployModel(deps, { name, version: '1.1.0' }, ml)).rejects.toMatchObject({ code: 'model.retired' });

    const now = await loadModel(deps, name);
    expect(now.state.weights).toEqual({ '1.0.0': 100 });
    expect(now.state.versions['1.1.0']!.retired).toBe(true);
    const then = await loadAggregateByStreamId(env.store, modelStreamId(name), {
      toGlobalPosition: shifted.events[0]!.globalPosition,
    });
    expect(then.category).toBe('model');
    expect((then.state as ModelState).weights).toEqual({ '1.0.0': 50, '1.1.0': 50 });
  });

  it('rejects a malformed command before touching the store', async () => {
    await expect(deployModel(deps, { name: 'Bad Name!', version: '1' }, ml)).rejects.toBeInstanceOf(
      InvalidCommandError,
    );
  });
});

describe('user handlers', () => {
  it('registers with roles, grants idempotently, issues keys storing only hashes', async () => {
    const userId = uniqueId('u');
    const registered = await registerUser(
      deps,
      { userId, email: 'ada@example.com', displayName: 'Ada', roles: ['reviewer'] },
      admin,
    );
    expect(registered.events.map((e) => e.type)).toEqual(['UserRegistered', 'RoleGranted']);
    expect((await grantRole(deps, { userId, role: 'reviewer' }, admin)).events).toEqual([]);

    const keyCtx = { ...admin, idempotencyKey: `key-${userId}` };
    const issued = await issueApiKey(deps, { userId, label: 'ci' }, keyCtx);
    expect(issued.secret).toMatch(/^secret-/);
    expect(issued.events[0]!.data).toMatchObject({ keyId: issued.keyId, secretSha256: sha256Hex(issued.secret!) });
    const stored = JSON.stringify(await env.store.readStream(issued.streamId));
    expect(stored).not.toContain(issued.secret!);

    const retry = await issueApiKey(deps, { userId, label: 'ci' }, keyCtx);
    expect(retry).toMatchObject({ duplicate: true, keyId: issued.keyId, secret: null });

    await expect(
      issueApiKey(deps, { userId, label: 'old', expiresAt: '2026-11-01T00:00:00Z' }, admin),
    ).rejects.toMatchObject({ code: 'api-key.expiry-in-past' });
    await revokeApiKey(deps, { userId, keyId: issued.keyId }, admin);
    const user = await loadUser(deps, userId);
    expect(user.state).toMatchObject({ roles: ['reviewer'], apiKeys: { [issued.keyId]: { revoked: true } } });
  });
});

describe('access handler', () => {
  it('appends to the day stream with expected version any', async () => {
    const auditor = { actor: uniqueId('auditor'), correlationId: 'corr-9' };
    const results = await Promise.all(
      ['audit.export', 'audit.verify', 'aggregate.as-of'].map((action) =>
        recordAccess(
          deps,
          { action: action as 'audit.export', resource: 'inspection-i1', decision: 'allowed' },
          auditor,
        ),
      ),
    );
    expect(results.every((r) => r.streamId === 'access-2026-11-23' && r.events.length === 1)).toBe(true);
    const day = await env.store.readStream(accessStreamId(new Date('2026-11-23T23:59:59Z')));
    const mine = day.filter((e) => e.metadata.actor === auditor.actor);
    expect(mine).toHaveLength(3);
    expect(mine.every((e) => e.metadata.correlationId === 'corr-9')).toBe(true);
  });
});
