import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GlobalLog } from '../../commands/ports/event-store.js';
import {
  ConcurrencyError,
  DuplicateEventIdError,
  type EventStore,
  InvalidAppendError,
  MetadataTooLargeError,
} from '../../commands/ports/event-store.js';
import {
  InvalidEventPayloadError,
  MAX_METADATA_BYTES,
  type RecordedEvent,
  UnknownEventTypeError,
} from '../../schemas/events/index.js';
import { actor, freshStream, tagged, taggedBatch } from './fixtures.js';

export type ConformanceStore = EventStore & GlobalLog;

export interface ConformanceSubject {
  readonly store: ConformanceStore;
  close(): Promise<void>;
}

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The behaviour every EventStore & GlobalLog adapter must show. */
export function describeEventStoreConformance(name: string, factory: () => Promise<ConformanceSubject>): void {
  describe(`EventStore conformance: ${name}`, () => {
    let subject: ConformanceSubject;
    let store: ConformanceStore;

    beforeAll(async () => {
      subject = await factory();
      store = subject.store;
    });
    afterAll(async () => {
      await subject?.close();
    });

    /** Runs `act`, expects it to throw `errorType`, and checks that nothing at all was written. */
    async function expectRejectedAndNothingWritten(
      streamId: string,
      act: () => Promise<unknown>,
      errorType: abstract new (...args: never[]) => Error,
    ): Promise<Error> {
      const headBefore = await store.headPosition();
      const streamBefore = await store.readStream(streamId);
      const error = await act().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(errorType);
      expect(await store.headPosition()).toBe(headBefore);
      expect(await store.readAll({ after: headBefore, maxCount: 10 })).toEqual([]);
      expect(await store.readStream(streamId)).toEqual(streamBefore);
      return error as Error;
    }

    describe('append', () => {
      it('appends to a new stream and reads back what was written', async () => {
        const streamId = freshStream();
        const result = await store.append(streamId, taggedBatch(3), { expectedVersion: 'no_stream' });
        expect(result.nextExpectedVersion).toBe(3);
        expect(result.duplicate).toBe(false);
        expect(result.lastGlobalPosition - result.firstGlobalPosition).toBe(2);

        const events = await store.readStream(streamId);
        expect(events.map((e) => e.streamVersion)).toEqual([1, 2, 3]);
        expect(events.map((e) => e.globalPosition)).toEqual([
          result.firstGlobalPosition,
          result.firstGlobalPosition + 1,
          result.lastGlobalPosition,
        ]);
        const first = events[0]!;
        expect(first.streamId).toBe(streamId);
        expect(first.type).toBe('FileTagged');
        expect(first.schemaVersion).toBe(1);
        expect(first.data).toEqual({ fileId: 'f1', added: ['tag-1'], removed: [], taggedBy: 'user-conformance' });
        expect(first.metadata).toEqual(actor);
        expect(first.eventId).toMatch(UUID_V7);
        expect(first.recordedAt).toBeInstanceOf(Date);
        expect(first.hash).toMatch(/^[0-9a-f]{64}$/);
        expect(new Set(events.map((e) => e.hash)).size).toBe(3);
      });

      it('keeps the event ids the writer gives', async () => {
        const streamId = freshStream();
        const eventId = randomUUID();
        await store.append(streamId, [tagged(1, { eventId })], { expectedVersion: 'any' });
        const [event] = await store.readStream(streamId);
        expect(event?.eventId).toBe(eventId);
      });

      it('stores the normalised payload: keys outside the schema are dropped', async () => {
        const streamId = freshStream();
        const event = tagged(1);
        await store.append(streamId, [{ ...event, data: { ...(event.data as object), injected: 'x' } }], {
          expectedVersion: 'any',
        });
        const [stored] = await store.readStream(streamId);
        expect(stored?.data).not.toHaveProperty('injected');
      });

      it('accepts an exact expected version and continues the stream', async () => {
        const streamId = freshStream();
        const first = await store.append(streamId, [tagged(1)], { expectedVersion: 'no_stream' });
        const second = await store.append(streamId, taggedBatch(2, 2), { expectedVersion: first.nextExpectedVersion });
        expect(second.nextExpectedVersion).toBe(3);
        expect(second.firstGlobalPosition).toBeGreaterThan(first.lastGlobalPosition);
        expect((await store.readStream(streamId)).map((e) => e.streamVersion)).toEqual([1, 2, 3]);
      });

      it("'any' appends whether or not the stream exists", async () => {
        const streamId = freshStream();
        await store.append(streamId, [tagged(1)], { expectedVersion: 'any' });
        const result = await store.append(streamId, [tagged(2)], { expectedVersion: 'any' });
        expect(result.nextExpectedVersion).toBe(2);
      });

      it("'stream_exists' appends only to an existing stream", async () => {
        const streamId = freshStream();
        const error = await expectRejectedAndNothingWritten(
          streamId,
          () => store.append(streamId, [tagged(1)], { expectedVersion: 'stream_exists' }),
          ConcurrencyError,
        );
        expect((error as ConcurrencyError).actual).toBe('no_stream');
        await store.append(streamId, [tagged(1)], { expectedVersion: 'no_stream' });
        const result = await store.append(streamId, [tagged(2)], { expectedVersion: 'stream_exists' });
        expect(result.nextExpectedVersion).toBe(2);
      });
    });

    describe('bad input gets a typed error and writes nothing', () => {
      it('a stale exact expected version', async () => {
        const streamId = freshStream();
        await store.append(streamId, taggedBatch(2), { expectedVersion: 'no_stream' });
        const error = await expectRejectedAndNothingWritten(
          streamId,
          () => store.append(streamId, [tagged(3)], { expectedVersion: 1 }),
          ConcurrencyError,
        );
        expect(error).toMatchObject({ code: 'concurrency-conflict', streamId, expected: 1, actual: 2 });
      });

      it("'no_stream' on an existing stream", async () => {
        const streamId = freshStream();
        await store.append(streamId, [tagged(1)], { expectedVersion: 'no_stream' });
        const error = await expectRejectedAndNothingWritten(
          streamId,
          () => store.append(streamId, [tagged(2)], { expectedVersion: 'no_stream' }),
          ConcurrencyError,
        );
        expect(error).toMatchObject({ expected: 'no_stream', actual: 1 });
      });

      it('an exact expected version on a missing stream', async () => {
        const streamId = freshStream();
        await expectRejectedAndNothingWritten(
          streamId,
          () => store.append(streamId, [tagged(1)], { expectedVersion: 3 }),
          ConcurrencyError,
        );
      });

      it('an unknown event type, even beside valid events', async () => {
        const streamId = freshStream();
        const error = await expectRejectedAndNothingWritten(
          streamId,
          () =>
            store.append(streamId, [tagged(1), { type: 'FileExploded', data: {}, metadata: actor }], {
              expectedVersion: 'any',
            }),
          UnknownEventTypeError,
        );
        expect(error).toMatchObject({ code: 'unknown-event-type', eventType: 'FileExploded' });
      });

      it('a payload failing its schema, even beside valid events', async () => {
        const streamId = freshStream();
        const bad = tagged(2, { data: { fileId: 'f2', added: 'not-a-list', removed: [], taggedBy: 'u' } });
        const error = await expectRejectedAndNothingWritten(
          streamId,
          () => store.append(streamId, [tagged(1), bad], { expectedVersion: 'any' }),
          InvalidEventPayloadError,
        );
        expect((error as InvalidEventPayloadError).issues.map((i) => i.path)).toContain('added');
      });

      it('a schema version that may not be written', async () => {
        const streamId = freshStream();
        await expectRejectedAndNothingWritten(
          streamId,
          () => store.append(streamId, [tagged(1, { schemaVersion: 99 })], { expectedVersion: 'any' }),
          InvalidEventPayloadError,
        );
      });

      it('an event id that already exists in another stream', async () => {
        const eventId = randomUUID();
        await store.append(freshStream(), [tagged(1, { eventId })], { expectedVersion: 'any' });
        const streamId = freshStream();
        const error = await expectRejectedAndNothingWritten(
          streamId,
          () => store.append(streamId, [tagged(2), tagged(3, { eventId })], { expectedVersion: 'any' }),
          DuplicateEventIdError,
        );
        expect(error).toMatchObject({ code: 'duplicate-event-id', eventId });
      });

      it('the same event id twice in one append', async () => {
        const streamId = freshStream();
        const eventId = randomUUID();
        await expectRejectedAndNothingWritten(
          streamId,
          () => store.append(streamId, [tagged(1, { eventId }), tagged(2, { eventId })], { expectedVersion: 'any' }),
          DuplicateEventIdError,
        );
      });

      it('oversized metadata', async () => {
        const streamId = freshStream();
        const metadata = { ...actor, note: 'x'.repeat(MAX_METADATA_BYTES) };
        const error = await expectRejectedAndNothingWritten(
          streamId,
          () => store.append(streamId, [tagged(1), tagged(2, { metadata })], { expectedVersion: 'any' }),
          MetadataTooLargeError,
        );
        expect(error).toMatchObject({ code: 'metadata-too-large', limit: MAX_METADATA_BYTES });
      });

      it('metadata without an actor, an empty append, a malformed event id', async () => {
        const streamId = freshStream();
        const noActor = tagged(1, { metadata: { correlationId: 'c' } as never });
        await expectRejectedAndNothingWritten(
          streamId,
          () => store.append(streamId, [noActor], { expectedVersion: 'any' }),
          InvalidAppendError,
        );
        await expectRejectedAndNothingWritten(
          streamId,
          () => store.append(streamId, [], { expectedVersion: 'any' }),
          InvalidAppendError,
        );
        await expectRejectedAndNothingWritten(
          streamId,
          () => store.append(streamId, [tagged(1, { eventId: 'not-a-uuid' })], { expectedVersion: 'any' }),
          InvalidAppendError,
        );
      });
      it('returns the events exactly as a read returns them (versions, positions, hashes, recorded time)', async () => {
        const streamId = freshStream();
        const first = await store.append(streamId, taggedBatch(2), { expectedVersion: 'no_stream' });
        const second = await store.append(streamId, taggedBatch(3, 3), { expectedVersion: 2 });
        const read = await store.readStream(streamId);
        expect([...first.events, ...second.events]).toEqual(read);
        expect(second.events.map((e) => e.streamVersion)).toEqual([3, 4, 5]);
        expect(second.events[0]!.globalPosition).toBe(second.firstGlobalPosition);
        expect(second.events.at(-1)!.globalPosition).toBe(second.lastGlobalPosition);
        expect(first.events[0]!.recordedAt).toBeInstanceOf(Date);
      });
    });

    describe('idempotency', () => {
      it('a retry with the same key returns the first result and appends nothing', async () => {
        const streamId = freshStream();
        const key = `cmd-${randomUUID()}`;
        const first = await store.append(streamId, taggedBatch(2), {
          expectedVersion: 'no_stream',
          idempotencyKey: key,
        });
        const head = await store.headPosition();
        // The retry's expected version is stale by now; it still gets the first result.
        const retry = await store.append(streamId, taggedBatch(2), {
          expectedVersion: 'no_stream',
          idempotencyKey: key,
        });
        expect(retry).toEqual({ ...first, duplicate: true });
        expect(await store.headPosition()).toBe(head);
        expect(await store.readStream(streamId)).toHaveLength(2);
      });

      it('concurrent retries append exactly once', async () => {
        const streamId = freshStream();
        const key = `cmd-${randomUUID()}`;
        const results = await Promise.all(
          Array.from({ length: 6 }, () =>
            store.append(streamId, taggedBatch(3), { expectedVersion: 'no_stream', idempotencyKey: key }),
          ),
        );
        expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
        const positions = new Set(results.map((r) => `${r.firstGlobalPosition}-${r.lastGlobalPosition}`));
        expect(positions.size).toBe(1);
        expect(await store.readStream(streamId)).toHaveLength(3);
      });

      it('a failed append does not consume its key', async () => {
        const streamId = freshStream();
        const key = `cmd-${randomUUID()}`;
        await expect(
          store.append(streamId, [tagged(1)], { expectedVersion: 5, idempotencyKey: key }),
        ).rejects.toBeInstanceOf(ConcurrencyError);
        const result = await store.append(streamId, [tagged(1)], { expectedVersion: 'no_stream', idempotencyKey: key });
        expect(result.duplicate).toBe(false);
      });

      it('a key reused for another stream is refused', async () => {
        const key = `cmd-${randomUUID()}`;
        await store.append(freshStream(), [tagged(1)], { expectedVersion: 'any', idempotencyKey: key });
        const other = freshStream();
        await expectRejectedAndNothingWritten(
          other,
          () => store.append(other, [tagged(1)], { expectedVersion: 'any', idempotencyKey: key }),
          InvalidAppendError,
        );
      });
    });

    describe('optimistic concurrency under races', () => {
      it('of writers with the same expected version exactly one wins', async () => {
        const streamId = freshStream();
        await store.append(streamId, [tagged(0)], { expectedVersion: 'no_stream' });
        const outcomes = await Promise.allSettled(
          Array.from({ length: 6 }, (_, i) => store.append(streamId, [tagged(i + 1)], { expectedVersion: 1 })),
        );
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(ConcurrencyError);
        }
        expect(await store.readStream(streamId)).toHaveLength(2);
      });

      it("of writers creating one stream with 'no_stream' exactly one wins", async () => {
        const streamId = freshStream();
        const outcomes = await Promise.allSettled(
          Array.from({ length: 5 }, (_, i) => store.append(streamId, [tagged(i)], { expectedVersion: 'no_stream' })),
        );
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        expect(await store.readStream(streamId)).toHaveLength(1);
      });

      it("of 'any' writers to one stream none is lost and versions have no gaps", async () => {
        const streamId = freshStream();
        await Promise.all(
          Array.from({ length: 8 }, (_, i) => store.append(streamId, [tagged(i)], { expectedVersion: 'any' })),
        );
        const events = await store.readStream(streamId);
        expect(events.map((e) => e.streamVersion)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      });
    });

    describe('reading a stream', () => {
      let streamId: string;
      let all: RecordedEvent[];
      beforeAll(async () => {
        streamId = freshStream();
        await store.append(streamId, taggedBatch(5), { expectedVersion: 'no_stream' });
        all = await store.readStream(streamId);
      });

      it('forwards from a version, at most maxCount', async () => {
        const events = await store.readStream(streamId, { fromVersion: 2, maxCount: 2 });
        expect(events.map((e) => e.streamVersion)).toEqual([2, 3]);
      });

      it('backwards from the end and from a version', async () => {
        expect((await store.readStream(streamId, { direction: 'backwards' })).map((e) => e.streamVersion)).toEqual([
          5, 4, 3, 2, 1,
        ]);
        const some = await store.readStream(streamId, { direction: 'backwards', fromVersion: 4, maxCount: 2 });
        expect(some.map((e) => e.streamVersion)).toEqual([4, 3]);
      });

      it('a missing stream reads as empty', async () => {
        expect(await store.readStream(freshStream())).toEqual([]);
        expect(await store.readStream(freshStream(), { direction: 'backwards' })).toEqual([]);
      });

      it('reads are consistent with the global log', async () => {
        const fromLog = await store.readAll({ after: all[0]!.globalPosition - 1, maxCount: 5 });
        expect(fromLog).toEqual(all);
      });
    });

    describe('time travel', () => {
      it('up to a global position', async () => {
        const streamId = freshStream();
        const first = await store.append(streamId, taggedBatch(2), { expectedVersion: 'no_stream' });
        await store.append(freshStream(), [tagged(9)], { expectedVersion: 'any' });
        await store.append(streamId, [tagged(3)], { expectedVersion: 2 });
        const past = await store.readStream(streamId, { toGlobalPosition: first.lastGlobalPosition });
        expect(past.map((e) => e.streamVersion)).toEqual([1, 2]);
        const pastBackwards = await store.readStream(streamId, {
          direction: 'backwards',
          toGlobalPosition: first.firstGlobalPosition,
        });
        expect(pastBackwards.map((e) => e.streamVersion)).toEqual([1]);
      });

      it('as of a time', async () => {
        const streamId = freshStream();
        await store.append(streamId, [tagged(1)], { expectedVersion: 'no_stream' });
        const [v1] = await store.readStream(streamId);
        await waitPast(v1!.recordedAt);
        await store.append(streamId, [tagged(2)], { expectedVersion: 1 });
        const [, v2] = await store.readStream(streamId);
        await waitPast(v2!.recordedAt);
        await store.append(streamId, [tagged(3)], { expectedVersion: 2 });

        expect(v2!.recordedAt.getTime()).toBeGreaterThan(v1!.recordedAt.getTime());
        expect((await store.readStream(streamId, { asOf: v2!.recordedAt })).map((e) => e.streamVersion)).toEqual([
          1, 2,
        ]);
        expect((await store.readStream(streamId, { asOf: v1!.recordedAt })).map((e) => e.streamVersion)).toEqual([1]);
        expect(await store.readStream(streamId, { asOf: new Date(v1!.recordedAt.getTime() - 1) })).toEqual([]);
        const events = await store.readStream(streamId);
        for (let i = 1; i < events.length; i++) {
          expect(events[i]!.recordedAt.getTime()).toBeGreaterThanOrEqual(events[i - 1]!.recordedAt.getTime());
        }
      });
    });

    describe('global log', () => {
      it('reads after a position in order, at most maxCount, up to the head', async () => {
        const head = await store.headPosition();
        const a = await store.append(freshStream(), taggedBatch(2), { expectedVersion: 'any' });
        const b = await store.append(freshStream(), taggedBatch(3), { expectedVersion: 'any' });
        expect(a.firstGlobalPosition).toBeGreaterThan(head);
        expect(b.firstGlobalPosition).toBeGreaterThan(a.lastGlobalPosition);
        expect(await store.headPosition()).toBeGreaterThanOrEqual(b.lastGlobalPosition);

        const events = await store.readAll({ after: head, maxCount: 100 });
        const positions = events.map((e) => e.globalPosition);
        expect(positions).toEqual([...positions].sort((x, y) => x - y));
        expect(new Set(positions).size).toBe(positions.length);
        expect(positions).toEqual(expect.arrayContaining([a.firstGlobalPosition, b.lastGlobalPosition]));
        expect(await store.readAll({ after: head, maxCount: 2 })).toEqual(events.slice(0, 2));
        expect(await store.readAll({ after: positions.at(-1)!, maxCount: 10 })).toEqual([]);
      });

      it('subscriptions catch up, then receive live appends in order, exactly once', async () => {
        const start = await store.headPosition();
        await store.append(freshStream(), taggedBatch(3), { expectedVersion: 'any' });
        const seen: RecordedEvent[] = [];
        const subscription = store.subscribe({
          after: start,
          batchSize: 2,
          handle: async (batch) => {
            seen.push(...batch);
          },
        });
        try {
          await subscription.caughtUpTo(await store.headPosition());
          const live = await store.append(freshStream(), taggedBatch(4), { expectedVersion: 'any' });
          await subscription.caughtUpTo(live.lastGlobalPosition);
          const expected = await store.readAll({ after: start, maxCount: 1000 });
          const expectedUpToLive = expected.filter((e) => e.globalPosition <= live.lastGlobalPosition);
          expect(seen.slice(0, expectedUpToLive.length)).toEqual(expectedUpToLive);
          expect(new Set(seen.map((e) => e.eventId)).size).toBe(seen.length);
        } finally {
          await subscription.stop();
        }
      });

      it('a subscription from a position skips what came before, and stop() ends it', async () => {
        const before = await store.append(freshStream(), [tagged(1)], { expectedVersion: 'any' });
        const seen: number[] = [];
        const subscription = store.subscribe({
          after: before.lastGlobalPosition,
          handle: async (batch) => {
            seen.push(...batch.map((e) => e.globalPosition));
          },
        });
        const after = await store.append(freshStream(), [tagged(2)], { expectedVersion: 'any' });
        await subscription.caughtUpTo(after.lastGlobalPosition);
        await subscription.stop();
        expect(seen[0]).toBeGreaterThan(before.lastGlobalPosition);
        expect(seen).toContain(after.lastGlobalPosition);
        const countAtStop = seen.length;
        await store.append(freshStream(), [tagged(3)], { expectedVersion: 'any' });
        expect(await store.readAll({ after: after.lastGlobalPosition, maxCount: 10 })).not.toEqual([]);
        expect(seen).toHaveLength(countAtStop);
      });

      it('a failing handler is retried with the same batch when onError is given', async () => {
        const start = await store.headPosition();
        await store.append(freshStream(), [tagged(1)], { expectedVersion: 'any' });
        const errors: unknown[] = [];
        const attempts: number[] = [];
        const subscription = store.subscribe({
          after: start,
          handle: async (batch) => {
            attempts.push(batch[0]!.globalPosition);
            if (attempts.length === 1) throw new Error('projection hiccup');
          },
          onError: (error) => errors.push(error),
        });
        await subscription.caughtUpTo(start + 1);
        await subscription.stop();
        expect(errors).toHaveLength(1);
        expect(attempts.slice(0, 2)).toEqual([start + 1, start + 1]);
      });
    });
  });
}

/** Waits until the clock has moved past `instant`, so the next append gets a later recorded time. */
async function waitPast(instant: Date): Promise<void> {
  for (let i = 0; i < 100 && Date.now() <= instant.getTime() + 1; i++) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
