import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoalescingAccessLog } from '../../api/access/coalescing-access-log.js';
import { bindCommands } from '../../api/adapters/bind-commands.js';
import type { AccessAttempt } from '../../api/ports/access-log.js';
import { type Backend, logSink, startBackend } from './support/harness.js';

let backend: Backend;

beforeAll(async () => {
  backend = await startBackend();
});

afterAll(() => backend?.close());

const denied = (route = 'GET /v1/audit/export', resource = 'events?after=0'): AccessAttempt => ({
  action: 'audit.export',
  resource,
  decision: 'denied',
  reason: 'lacks audit:read',
  route,
});

/** The AccessRecorded payloads of one actor, in log order. */
async function recordsOf(actor: string) {
  const day = new Date().toISOString().slice(0, 10);
  return (await backend.store.readStream(`access-${day}`))
    .filter((e) => e.metadata.actor === actor)
    .map((e) => e.data as { count: number; resource: string; window: { from: string; to: string } | null });
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('coalesced denials', () => {
  it('records the first denial at once and the next denial after the window closes the count', async () => {
    let now = Date.parse('2026-12-01T10:00:00.000Z');
    const log = new CoalescingAccessLog(bindCommands({ store: backend.store }).recordAccess, logSink([]), {
      windowMs: 60_000,
      now: () => now,
    });
    const ctx = { actor: 'viewer-clock' };
    await log.record(denied(), ctx);
    expect(await recordsOf('viewer-clock')).toEqual([expect.objectContaining({ count: 1, window: null })]);
    for (let i = 0; i < 5; i++) {
      now += 1_000;
      await log.record(denied('GET /v1/audit/export', `events?after=${i}`), ctx);
    }
    expect(await recordsOf('viewer-clock')).toHaveLength(1); // counted, not written
    now += 60_000; // past the window: this denial closes it and opens the next
    await log.record(denied(), ctx);
    const records = await until(
      () => recordsOf('viewer-clock'),
      (r) => r.length === 3,
    );
    expect(records.map((r) => r.count).sort()).toEqual([1, 1, 5]);
    const coalesced = records.find((r) => r.count === 5)!;
    // The five named different resources: the route is recorded, with the span they happened in.
    expect(coalesced.resource).toBe('GET /v1/audit/export');
    expect(coalesced.window).toEqual({ from: '2026-12-01T10:00:01.000Z', to: '2026-12-01T10:00:05.000Z' });
    await log.flush();
  });

  it('writes a window out when its timer ends, with no further denial', async () => {
    const log = new CoalescingAccessLog(bindCommands({ store: backend.store }).recordAccess, logSink([]), {
      windowMs: 200,
    });
    const ctx = { actor: 'viewer-timer' };
    for (let i = 0; i < 4; i++) await log.record(denied(), ctx);
    const records = await until(
      () => recordsOf('viewer-timer'),
      (r) => r.length === 2,
    );
    expect(records.map((r) => r.count)).toEqual([1, 3]);
    expect(records[1]!.resource).toBe('events?after=0');
  });

  it('keeps memory bounded: a new window past the limit writes the oldest out early', async () => {
    const log = new CoalescingAccessLog(bindCommands({ store: backend.store }).recordAccess, logSink([]), {
      maxOpenWindows: 2,
    });
    for (const actor of ['bound-a', 'bound-b']) {
      await log.record(denied(), { actor });
      await log.record(denied(), { actor });
    }
    await log.record(denied(), { actor: 'bound-c' }); // evicts bound-a's window
    const evicted = await until(
      () => recordsOf('bound-a'),
      (r) => r.length === 2,
    );
    expect(evicted.map((r) => r.count)).toEqual([1, 1]);
    expect(await recordsOf('bound-b')).toHaveLength(1);
    await log.flush(); // a clean shutdown loses nothing
    expect((await recordsOf('bound-b')).map((r) => r.count)).toEqual([1, 1]);
  });

  it('records every allowed read as its own event', async () => {
    const log = new CoalescingAccessLog(bindCommands({ store: backend.store }).recordAccess, logSink([]));
    for (let i = 0; i < 3; i++) {
      await log.record({ ...denied(), decision: 'allowed', reason: null }, { actor: 'auditor-allowed' });
    }
    expect((await recordsOf('auditor-allowed')).map((r) => r.count)).toEqual([1, 1, 1]);
  });
});
