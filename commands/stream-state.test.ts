import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainRuleViolation } from '../domain/errors.js';
import { PostgresEventStore } from '../infra/postgres/event-store.js';
import type { CommandContext } from './context.js';
import { deleteFile, fileStreamId, loadFile, tagFile, uploadFile } from './files.js';
import { StreamStateCache } from './stream-state.js';
import { countingStore } from './testing/counting-store.js';
import { fileUpload, startTestStore, uniqueId } from './testing/postgres-store.js';

let env: Awaited<ReturnType<typeof startTestStore>>;
let other: PostgresEventStore;
beforeAll(async () => {
  env = await startTestStore();
  // A second store on the same database: another process, with its own caches.
  other = new PostgresEventStore(env.pool);
});
afterAll(async () => {
  await other.close();
  await env.stop();
});

const ctx: CommandContext = { actor: 'user-7' };

describe('commands on cached stream state', () => {
  it('appends without reading the stream back and returns the recorded events and the new state', async () => {
    const fileId = uniqueId('f');
    const { store, calls } = countingStore(env.store);
    const deps = { store, states: new StreamStateCache() };
    const uploaded = await uploadFile(deps, fileUpload(fileId), ctx);
    const tagged = await tagFile(deps, { fileId, add: ['crack'] }, ctx);
    const again = await tagFile(deps, { fileId, add: ['porosity'], remove: ['crack'] }, ctx);
    // One read to learn the new stream is empty; then the cached state carries each command.
    expect(calls.reads.get(fileStreamId(fileId))).toBe(1);
    expect(calls.appends.get(fileStreamId(fileId))).toBe(3);
    expect([...uploaded.events, ...tagged.events, ...again.events]).toEqual(
      await env.store.readStream(fileStreamId(fileId)),
    );
    expect(again.state).toMatchObject({ status: 'uploaded', tags: ['porosity', 'weld'] });
    expect(again.state).toEqual((await loadFile({ store: env.store, states: new StreamStateCache() }, fileId)).state);
  });

  it('a stale cache (another process appended) costs a retry, never a wrong decision', async () => {
    const fileId = uniqueId('f');
    const { store, calls } = countingStore(env.store);
    const deps = { store, states: new StreamStateCache(), retry: { sleep: async () => undefined } };
    await uploadFile(deps, fileUpload(fileId), ctx);
    await tagFile(deps, { fileId, add: ['crack'] }, ctx);
    // The other process removes the tag and then deletes the file; our cache still says "tagged crack".
    await tagFile({ store: other }, { fileId, add: [], remove: ['crack'] }, ctx);
    // Decided on the stale state this would be "already tagged" (nothing to do): confirmed on a fresh read instead.
    const retagged = await tagFile(deps, { fileId, add: ['crack'] }, ctx);
    expect(retagged.events).toHaveLength(1);
    expect(retagged.nextExpectedVersion).toBe(4);
    await deleteFile({ store: other }, { fileId, reason: 'test' }, ctx);
    // Decided on the stale state this tag would be appended; the expected version refuses it and
    // the fresh decision is the domain's answer for a deleted file.
    const readsBefore = calls.reads.get(fileStreamId(fileId)) ?? 0;
    await expect(tagFile(deps, { fileId, add: ['late'] }, ctx)).rejects.toBeInstanceOf(DomainRuleViolation);
    expect(calls.reads.get(fileStreamId(fileId))).toBe(readsBefore + 1);
    const recorded = await env.store.readStream(fileStreamId(fileId));
    expect(recorded.map((e) => e.type)).toEqual([
      'FileUploaded',
      'FileTagged',
      'FileTagged',
      'FileTagged',
      'FileDeleted',
    ]);
  });

  it('a pinned version that the stale cache does not match is checked on a fresh read', async () => {
    const fileId = uniqueId('f');
    const deps = { store: env.store, states: new StreamStateCache() };
    await uploadFile(deps, fileUpload(fileId), ctx);
    await tagFile({ store: other }, { fileId, add: ['x'] }, ctx);
    // The client saw version 2 (the other process's tag); our cache is at 1 but must not refuse.
    const result = await tagFile(deps, { fileId, add: ['y'] }, { ...ctx, expectedVersion: 2 });
    expect(result.nextExpectedVersion).toBe(3);
    expect(result.state).toMatchObject({ tags: ['weld', 'x', 'y'].sort() });
  });

  it('lookups catch the cached state up with what is new, and the cache stays bounded', async () => {
    const fileId = uniqueId('f');
    const states = new StreamStateCache(2);
    const { store, calls } = countingStore(env.store);
    await uploadFile({ store, states }, fileUpload(fileId), ctx);
    await tagFile({ store: other }, { fileId, add: ['x'] }, ctx);
    const readsBefore = calls.reads.get(fileStreamId(fileId));
    const loaded = await loadFile({ store, states }, fileId);
    expect(calls.reads.get(fileStreamId(fileId))).toBe((readsBefore ?? 0) + 1);
    expect(loaded).toMatchObject({ version: 2, state: { tags: ['weld', 'x'] } });
    for (let i = 0; i < 3; i++) await uploadFile({ store, states }, fileUpload(uniqueId('g')), ctx);
    expect(states.size).toBe(2);
  });
});
