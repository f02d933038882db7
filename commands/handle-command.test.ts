import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainConflict } from '../domain/errors.js';
import { fileDecider } from '../domain/file/index.js';
import type { CommandContext } from './context.js';
import { InvalidCommandError } from './errors.js';
import { fileStreamId, loadFile, tagFile, uploadFile } from './files.js';
import { handleCommand } from './handle-command.js';
import { ConcurrencyError } from './ports/event-store.js';
import { fileUpload, startTestStore, uniqueId } from './testing/postgres-store.js';
import { registerUser } from './users.js';

let env: Awaited<ReturnType<typeof startTestStore>>;
beforeAll(async () => {
  env = await startTestStore();
});
afterAll(async () => {
  await env.stop();
});

const ctx: CommandContext = { actor: 'user-7' };
const noSleep = { sleep: async () => undefined };

describe('handleCommand on the PostgreSQL event store', () => {
  it('stores actor, correlation, causation, traceparent and command id with every event', async () => {
    const fileId = uniqueId('f');
    const full: CommandContext = {
      actor: 'user-7',
      commandId: 'cmd-1',
      correlationId: 'corr-1',
      causationId: 'cause-1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    };
    const result = await uploadFile({ store: env.store }, fileUpload(fileId), full);
    expect(result).toMatchObject({ streamId: `file-${fileId}`, nextExpectedVersion: 1, duplicate: false });
    expect(result.events).toHaveLength(1);
    const [stored] = await env.store.readStream(fileStreamId(fileId));
    expect(stored!.metadata).toEqual({
      actor: 'user-7',
      commandId: 'cmd-1',
      correlationId: 'corr-1',
      causationId: 'cause-1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    expect(result.events[0]).toEqual(stored);
  });

  it('gives a command without an id a fresh one, shared by all of its events', async () => {
    const userId = uniqueId('u');
    const result = await registerUser(
      { store: env.store },
      { userId, email: 'x@example.com', displayName: 'X', roles: ['viewer', 'operator'] },
      ctx,
    );
    const ids = new Set(result.events.map((e) => e.metadata.commandId));
    expect(result.events).toHaveLength(3);
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a retry with the same idempotency key returns the first result and appends nothing', async () => {
    const fileId = uniqueId('f');
    await uploadFile({ store: env.store }, fileUpload(fileId), ctx);
    const keyed = { ...ctx, idempotencyKey: 'tag-once' };
    const first = await tagFile({ store: env.store }, { fileId, add: ['crack'] }, keyed);
    // The retry would decide nothing (the tag is there); it must still answer with the first result.
    const retry = await tagFile({ store: env.store }, { fileId, add: ['crack'] }, keyed);
    expect(first.duplicate).toBe(false);
    expect(retry).toEqual({ ...first, duplicate: true });
    expect(await env.store.readStream(fileStreamId(fileId))).toHaveLength(2);
    expect(first.events[0]!.metadata.idempotencyKey).toMatch(/^idem-[0-9a-f]{64}$/);
  });

  it('concurrent duplicates with one key append once', async () => {
    const fileId = uniqueId('f');
    const keyed = { ...ctx, idempotencyKey: `upload-${fileId}` };
    const results = await Promise.all([1, 2, 3].map(() => uploadFile({ store: env.store }, fileUpload(fileId), keyed)));
    expect(await env.store.readStream(fileStreamId(fileId))).toHaveLength(1);
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    const ids = new Set(results.map((r) => r.events.map((e) => e.eventId).join()));
    expect(ids.size).toBe(1);
  });

  it('a retry under the same key that picks a new stream id gets the stream the first attempt recorded', async () => {
    const keyed = { ...ctx, idempotencyKey: uniqueId('upload-key') };
    const [first, second] = [uniqueId('f'), uniqueId('f')];
    const committed = await uploadFile({ store: env.store }, fileUpload(first), keyed);
    const retry = await uploadFile({ store: env.store }, fileUpload(second), keyed);
    expect(retry).toEqual({ ...committed, duplicate: true });
    expect(await env.store.readStream(fileStreamId(second))).toHaveLength(0);
  });

  it('two concurrent attempts under one key that pick different streams record one and both answer with it', async () => {
    const keyed = { ...ctx, idempotencyKey: uniqueId('upload-key') };
    let arrived = 0;
    let release!: () => void;
    const bothDecided = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Both pass the look-up of the key before either appends: the race a lease takeover can cause.
    const attempt = (fileId: string) =>
      handleCommand(
        { store: env.store },
        fileDecider,
        fileStreamId(fileId),
        async () => {
          if (++arrived === 2) release();
          await bothDecided;
          return { type: 'UploadFile' as const, actor: ctx.actor, data: fileUpload(fileId) };
        },
        keyed,
      );
    const [a, b] = [uniqueId('f'), uniqueId('f')];
    const results = await Promise.all([attempt(a), attempt(b)]);
    expect(results[0]!.streamId).toBe(results[1]!.streamId);
    const recorded = [
      ...(await env.store.readStream(fileStreamId(a))),
      ...(await env.store.readStream(fileStreamId(b))),
    ];
    expect(recorded).toHaveLength(1);
    expect(results.map((r) => r.duplicate).sort()).toEqual([false, true]);
  });

  it('scopes idempotency keys to the actor', async () => {
    const fileId = uniqueId('f');
    await uploadFile({ store: env.store }, fileUpload(fileId), ctx);
    const a = await tagFile({ store: env.store }, { fileId, add: ['a'] }, { actor: 'alice', idempotencyKey: 'k' });
    const b = await tagFile({ store: env.store }, { fileId, add: ['b'] }, { actor: 'bob', idempotencyKey: 'k' });
    expect([a.duplicate, b.duplicate]).toEqual([false, false]);
    expect((await loadFile({ store: env.store }, fileId)).state).toMatchObject({ tags: ['a', 'b', 'weld'] });
  });

  it('re-decides on fresh state after a concurrency conflict', async () => {
    const fileId = uniqueId('f');
    await uploadFile({ store: env.store }, fileUpload(fileId), ctx);
    let attempts = 0;
    const result = await handleCommand(
      { store: env.store, retry: noSleep },
      fileDecider,
      fileStreamId(fileId),
      async () => {
        attempts++;
        // A competing writer commits between our read and our append, on the first attempt only.
        if (attempts === 1) await tagFile({ store: env.store }, { fileId, add: ['competing'] }, ctx);
        return { type: 'TagFile' as const, actor: 'user-7', data: { fileId, add: ['ours'], remove: ['competing'] } };
      },
      ctx,
    );
    expect(attempts).toBe(2);
    // The second decision saw the competing tag, so it could remove it.
    expect(result.events[0]!.data).toMatchObject({ added: ['ours'], removed: ['competing'] });
    expect(result.nextExpectedVersion).toBe(3);
  });

  it('gives up after the configured number of retries', async () => {
    const fileId = uniqueId('f');
    await uploadFile({ store: env.store }, fileUpload(fileId), ctx);
    let attempts = 0;
    const attempt = handleCommand(
      { store: env.store, retry: { ...noSleep, maxRetries: 2 } },
      fileDecider,
      fileStreamId(fileId),
      async () => {
        attempts++;
        await tagFile({ store: env.store }, { fileId, add: [`c${attempts}`] }, ctx);
        return { type: 'TagFile' as const, actor: 'user-7', data: { fileId, add: ['ours'], remove: [] } };
      },
      ctx,
    );
    await expect(attempt).rejects.toBeInstanceOf(ConcurrencyError);
    expect(attempts).toBe(3);
    expect((await loadFile({ store: env.store }, fileId)).state).toMatchObject({ tags: ['c1', 'c2', 'c3', 'weld'] });
  });

  it('many concurrent writers to one stream all succeed through retries', async () => {
    const fileId = uniqueId('f');
    await uploadFile({ store: env.store }, fileUpload(fileId), ctx);
    const tags = Array.from({ length: 6 }, (_, i) => `t${i}`);
    const deps = { store: env.store, retry: { maxRetries: 30, baseDelayMs: 2, maxDelayMs: 20 } };
    const results = await Promise.all(tags.map((t) => tagFile(deps, { fileId, add: [t] }, ctx)));
    expect(results.map((r) => r.events.length)).toEqual(tags.map(() => 1));
    const versions = results.map((r) => r.nextExpectedVersion).sort((a, b) => a - b);
    expect(versions).toEqual([2, 3, 4, 5, 6, 7]);
  });

  it('concurrent conflicting commands: one wins, the other is re-decided and rejected', async () => {
    const fileId = uniqueId('f');
    const deps = { store: env.store, retry: { maxRetries: 10, baseDelayMs: 2, maxDelayMs: 10 } };
    const outcomes = await Promise.allSettled([
      uploadFile(deps, fileUpload(fileId, 'a'.repeat(64)), ctx),
      uploadFile(deps, fileUpload(fileId, 'b'.repeat(64)), ctx),
    ]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toBeInstanceOf(DomainConflict);
    expect(await env.store.readStream(fileStreamId(fileId))).toHaveLength(1);
  });

  it('an explicit expected version is checked and never retried', async () => {
    const fileId = uniqueId('f');
    await uploadFile({ store: env.store }, fileUpload(fileId), ctx);
    const stale = tagFile({ store: env.store }, { fileId, add: ['x'] }, { ...ctx, expectedVersion: 0 });
    await expect(stale).rejects.toMatchObject({ code: 'concurrency-conflict', expected: 0, actual: 1 });
    const fresh = await tagFile({ store: env.store }, { fileId, add: ['x'] }, { ...ctx, expectedVersion: 1 });
    expect(fresh.nextExpectedVersion).toBe(2);

    let attempts = 0;
    const raced = handleCommand(
      { store: env.store, retry: noSleep },
      fileDecider,
      fileStreamId(fileId),
      async () => {
        attempts++;
        await tagFile({ store: env.store }, { fileId, add: ['competing'] }, ctx);
        return { type: 'TagFile' as const, actor: 'user-7', data: { fileId, add: ['ours'], remove: [] } };
      },
      { ...ctx, expectedVersion: 2 },
    );
    await expect(raced).rejects.toBeInstanceOf(ConcurrencyError);
    expect(attempts).toBe(1);
  });

  it('a decision of no events appends nothing and reports the current version', async () => {
    const fileId = uniqueId('f');
    await uploadFile({ store: env.store }, fileUpload(fileId), ctx);
    const result = await tagFile({ store: env.store }, { fileId, add: ['weld'] }, ctx);
    expect(result).toEqual({
      streamId: fileStreamId(fileId),
      events: [],
      nextExpectedVersion: 1,
      duplicate: false,
      state: expect.objectContaining({ status: 'uploaded', tags: ['weld'] }),
    });
  });

  it('bad input is a typed error and writes nothing', async () => {
    const fileId = uniqueId('f');
    await expect(
      uploadFile({ store: env.store }, { ...fileUpload(fileId), sha256: 'not-a-hash' }, ctx),
    ).rejects.toBeInstanceOf(InvalidCommandError);
    expect(await env.store.readStream(fileStreamId(fileId))).toEqual([]);
  });

  it('time travel folds only the events up to a global position or a time', async () => {
    const fileId = uniqueId('f');
    const deps = { store: env.store };
    const uploaded = await uploadFile(deps, fileUpload(fileId), ctx);
    const tagged = await tagFile(deps, { fileId, add: ['crack'] }, ctx);
    await tagFile(deps, { fileId, add: ['porosity'], remove: ['crack'] }, ctx);

    const atTag = await loadFile(deps, fileId, { toGlobalPosition: tagged.events[0]!.globalPosition });
    expect(atTag).toMatchObject({ version: 2, state: { tags: ['crack', 'weld'] } });
    const atUpload = await loadFile(deps, fileId, { asOf: uploaded.events[0]!.recordedAt });
    expect(atUpload).toMatchObject({ version: 1, state: { status: 'uploaded', tags: ['weld'] } });
    const before = await loadFile(deps, fileId, { asOf: new Date(uploaded.events[0]!.recordedAt.getTime() - 1) });
    expect(before).toMatchObject({ version: 0, lastGlobalPosition: null, state: { status: 'absent' } });
    expect(await loadFile(deps, fileId)).toMatchObject({ version: 3, state: { tags: ['porosity', 'weld'] } });
  });
});
