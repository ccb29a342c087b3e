import type {
  EventFilter,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  RecordedEvent,
} from '@lantern/core';
import {
  isConcurrencyError,
  isIdempotencyError,
  isStoreError,
  isStreamNotFoundError,
  isValidationError,
  pagesOf,
} from '@lantern/core';
import fc from 'fast-check';
import type { Observable, Subscription } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  clubEstablished,
  clubSessionHeld,
  collect,
  failureOf,
  ids,
  invalidClubSession,
  metadata,
  namespace,
  outreachConducted,
  outreachConductedV1,
  placements,
  someEvent,
  staffMember,
  streamsOf,
  waitFor,
} from './fixtures.js';

/**
 * The store contract: one suite that every EventStore adapter runs unchanged (DESIGN.md, "The
 * store contract"). It speaks only to the port. Each test keeps to streams of its own namespace,
 * so the suite also holds against a store that already holds other events.
 */

export type StoreFactory = () => Promise<{ store: EventStore; cleanup?: () => Promise<void> }>;

/** Runs of each fast-check property: enough to find interleaving bugs, small enough to stay fast. */
const numRuns = 30;

interface Recording {
  readonly events: RecordedEvent[];
  completed: boolean;
  failure: unknown;
  subscription: Subscription | undefined;
}

const record = (observable: Observable<RecordedEvent>): Recording => {
  const recording: Recording = { events: [], completed: false, failure: undefined, subscription: undefined };
  recording.subscription = observable.subscribe({
    next: (event) => recording.events.push(event),
    error: (error: unknown) => {
      recording.failure = error;
    },
    complete: () => {
      recording.completed = true;
    },
  });
  return recording;
};

const waitForEvents = (recording: Recording, count: number, what = `${count} events arrived`) =>
  waitFor(() => {
    if (recording.failure) throw recording.failure;
    return recording.events.length >= count;
  }, what);

const isStrictlyIncreasing = (values: readonly bigint[]): boolean =>
  values.every((value, i) => i === 0 || (values[i - 1] ?? value) < value);

export const runStoreContract = (name: string, factory: StoreFactory): void => {
  describe(`${name} keeps the store contract`, () => {
    let store: EventStore;
    let cleanup: (() => Promise<void>) | undefined;
    let s: ReturnType<typeof streamsOf>;
    let recordings: Recording[] = [];

    /** Subscribes for the test; the subscription ends with it. */
    const subscribe = (options?: Parameters<EventStore['subscribe']>[0]): Recording => {
      const recording = record(store.subscribe(options));
      recordings.push(recording);
      return recording;
    };

    /** Events of this test's streams, as one reader of the whole store sees them. */
    const readMine = async (filter: EventFilter = {}, after?: bigint): Promise<RecordedEvent[]> =>
      collect(
        store.readAll({
          ...(after === undefined ? {} : { after }),
          filter: { ...filter, streamPrefixes: filter.streamPrefixes ?? s.prefixes },
        }),
      );

    /**
     * Appends one last event and waits for it: whatever a subscription delivered before it is all
     * it will ever deliver of what came earlier, so duplicates or strays would show.
     */
    const flush = async (recording: Recording): Promise<string> => {
      const sentinel = clubEstablished('sentinel');
      await store.append(s.club('sentinel'), [sentinel]);
      await waitFor(() => {
        if (recording.failure) throw recording.failure;
        return recording.events.some((event) => event.id === sentinel.id);
      }, 'the subscription delivered the sentinel event');
      return sentinel.id;
    };

    beforeEach(async () => {
      ({ store, cleanup } = await factory());
      s = streamsOf(namespace());
    });

    afterEach(async () => {
      for (const recording of recordings) recording.subscription?.unsubscribe();
      recordings = [];
      await store.close();
      await cleanup?.();
    });

    describe('append', () => {
      it('stores a batch with revisions from 0 and strictly increasing global positions', async () => {
        const first = [clubEstablished(), clubSessionHeld()];
        const second = [clubSessionHeld(), clubSessionHeld()];
        await store.append(s.club(), first);
        await store.append(s.outreach(), [outreachConducted()]);
        await store.append(s.club(), second);

        const club = await collect(store.readStream(s.club()));
        expect(ids(club)).toEqual(ids([...first, ...second]));
        expect(club.map((event) => event.revision)).toEqual([0n, 1n, 2n, 3n]);
        expect(club.every((event) => event.streamId === s.club())).toBe(true);
        expect(isStrictlyIncreasing(club.map((event) => event.position))).toBe(true);
        expect(club.every((event) => event.position >= 1n)).toBe(true);
        for (const event of club) {
          expect(new Date(event.recordedAt).toISOString()).toBe(event.recordedAt);
        }
      });

      it('returns the revision to expect next and the position of the batch’s last event', async () => {
        const events = [clubEstablished(), clubSessionHeld(), clubSessionHeld()];
        const result = await store.append(s.club(), events, { expectedRevision: 'noStream' });
        expect(result).toEqual({ nextExpectedRevision: 2n, position: expect.any(BigInt), written: true });
        const [last] = await collect(store.readStream(s.club(), { direction: 'backwards', maxCount: 1 }));
        expect(last?.id).toBe(events[2]?.id);
        expect(result.position).toBe(last?.position);

        const next = await store.append(s.club(), [clubSessionHeld()], {
          expectedRevision: result.nextExpectedRevision,
        });
        expect(next.nextExpectedRevision).toBe(3n);
        expect(next.position > result.position).toBe(true);
      });

      it('writes nothing of a batch with one invalid event, and names the event, field and rule', async () => {
        await store.append(s.club('b'), [clubEstablished('other')]);
        const batch = [clubEstablished(), clubSessionHeld(), invalidClubSession()];
        const error = await failureOf(() => store.append(s.club(), batch));
        expect(isValidationError(error)).toBe(true);
        if (!isValidationError(error)) return;
        expect(error.eventType).toBe('ClubSessionHeld');
        expect(error.path).toBe('data.attendance.1.count');
        expect(error.rule).toMatch(/negative/);
        expect(error.message).toContain('data.attendance.1.count');

        expect(isStreamNotFoundError(await failureOf(() => store.readStream(s.club())))).toBe(true);
        expect(ids(await readMine())).toEqual(ids(await collect(store.readStream(s.club('b')))));
      });

      it('writes nothing to an existing stream when a batch fails validation', async () => {
        await store.append(s.club(), [clubEstablished()]);
        const error = await failureOf(() =>
          store.append(s.club(), [clubSessionHeld(), invalidClubSession()], { expectedRevision: 0n }),
        );
        expect(isValidationError(error)).toBe(true);
        expect(await collect(store.readStream(s.club()))).toHaveLength(1);
        const next = await store.append(s.club(), [clubSessionHeld()], { expectedRevision: 0n });
        expect(next.nextExpectedRevision).toBe(1n);
      });

      it('refuses unknown types, bad metadata and repeated ids, naming the field', async () => {
        const unknownType = await failureOf(() =>
          store.append(s.club(), [{ ...clubEstablished(), type: 'ClubDemolished' }]),
        );
        expect(isValidationError(unknownType) && unknownType.path).toBe('type');

        const named = await failureOf(() =>
          store.append(s.club(), [
            clubEstablished('riverfront-1', { metadata: { recordedBy: 'Sokha Chan' } }),
          ]),
        );
        expect(isValidationError(named) && named.path).toBe('metadata.recordedBy');

        const noOffset = await failureOf(() =>
          store.append(s.club(), [
            clubEstablished('riverfront-1', { metadata: { occurredAt: '2019-03-01T16:00:00' } }),
          ]),
        );
        expect(isValidationError(noOffset) && noOffset.path).toBe('metadata.occurredAt');

        const notUuid = await failureOf(() =>
          store.append(s.club(), [clubEstablished('riverfront-1', { id: 'event-1' })]),
        );
        expect(isValidationError(notUuid) && notUuid.path).toBe('id');

        const event = clubEstablished();
        const repeated = await failureOf(() =>
          store.append(s.club(), [event, { ...clubSessionHeld(), id: event.id }]),
        );
        expect(isValidationError(repeated) && repeated.path).toBe('id');

        expect(await readMine()).toEqual([]);
      });

      it('keeps each batch whole and in order while other appends run at the same time', async () => {
        const batches = Array.from({ length: 8 }, (_, b) =>
          Array.from({ length: 4 }, (_, i) => clubSessionHeld('riverfront-1', { count: b * 4 + i })),
        );
        const results = await Promise.all(batches.map((batch) => store.append(s.club(), batch)));
        const stream = await collect(store.readStream(s.club()));
        expect(stream).toHaveLength(32);
        batches.forEach((batch, b) => {
          const last = results[b]?.nextExpectedRevision ?? -1n;
          const stored = stream.filter((event) => event.revision > last - 4n && event.revision <= last);
          expect(ids(stored)).toEqual(ids(batch));
        });
      });

      it('refuses an empty batch with a ValidationError and writes nothing', async () => {
        const onNothing = await failureOf(() => store.append(s.club(), [], { expectedRevision: 'noStream' }));
        expect(isValidationError(onNothing)).toBe(true);
        expect((onNothing as Error).message).toMatch(/at least one event/);
        expect(isStreamNotFoundError(await failureOf(() => store.readStream(s.club())))).toBe(true);

        await store.append(s.club(), [clubEstablished(), clubSessionHeld()]);
        expect(
          isValidationError(await failureOf(() => store.append(s.club(), [], { expectedRevision: 1n }))),
        ).toBe(true);
        expect(await collect(store.readStream(s.club()))).toHaveLength(2);
      });
    });

    describe('expected revision', () => {
      const expectConflict = async (
        action: () => Promise<unknown>,
        streamId: string,
        expected: ExpectedRevision,
        actual: bigint | 'noStream',
      ) => {
        const error = await failureOf(action);
        expect(isConcurrencyError(error)).toBe(true);
        if (!isConcurrencyError(error)) return;
        expect({ streamId: error.streamId, expected: error.expected, actual: error.actual }).toEqual({
          streamId,
          expected,
          actual,
        });
        expect(error.message).toContain(streamId);
      };

      it('any (the default) appends whether or not the stream exists', async () => {
        expect((await store.append(s.club(), [clubEstablished()])).nextExpectedRevision).toBe(0n);
        const result = await store.append(s.club(), [clubSessionHeld()], { expectedRevision: 'any' });
        expect(result.nextExpectedRevision).toBe(1n);
        const fresh = await store.append(s.club('b'), [clubEstablished('b')], { expectedRevision: 'any' });
        expect(fresh.nextExpectedRevision).toBe(0n);
      });

      it('noStream appends only to a stream with no events', async () => {
        const result = await store.append(s.club(), [clubEstablished()], { expectedRevision: 'noStream' });
        expect(result.nextExpectedRevision).toBe(0n);
        await expectConflict(
          () => store.append(s.club(), [clubSessionHeld()], { expectedRevision: 'noStream' }),
          s.club(),
          'noStream',
          0n,
        );
      });

      it('streamExists appends only to a stream that has events', async () => {
        await expectConflict(
          () => store.append(s.club(), [clubEstablished()], { expectedRevision: 'streamExists' }),
          s.club(),
          'streamExists',
          'noStream',
        );
        expect(isStreamNotFoundError(await failureOf(() => store.readStream(s.club())))).toBe(true);
        await store.append(s.club(), [clubEstablished()]);
        const result = await store.append(s.club(), [clubSessionHeld()], {
          expectedRevision: 'streamExists',
        });
        expect(result.nextExpectedRevision).toBe(1n);
      });

      it('a revision appends only when it is the stream’s last revision', async () => {
        await store.append(s.club(), [clubEstablished(), clubSessionHeld()]);
        const result = await store.append(s.club(), [clubSessionHeld()], { expectedRevision: 1n });
        expect(result.nextExpectedRevision).toBe(2n);
        await expectConflict(
          () => store.append(s.club(), [clubSessionHeld()], { expectedRevision: 1n }),
          s.club(),
          1n,
          2n,
        );
        await expectConflict(
          () => store.append(s.club(), [clubSessionHeld()], { expectedRevision: 7n }),
          s.club(),
          7n,
          2n,
        );
        await expectConflict(
          () => store.append(s.club('b'), [clubEstablished('b')], { expectedRevision: 0n }),
          s.club('b'),
          0n,
          'noStream',
        );
        expect(await collect(store.readStream(s.club()))).toHaveLength(3);
        expect(isStreamNotFoundError(await failureOf(() => store.readStream(s.club('b'))))).toBe(true);
      });

      it('lets exactly one of two writers that expected the same revision win', async () => {
        await store.append(s.club(), [clubEstablished()]);
        const outcomes = await Promise.allSettled([
          store.append(s.club(), [clubSessionHeld()], { expectedRevision: 0n }),
          store.append(s.club(), [clubSessionHeld()], { expectedRevision: 0n }),
        ]);
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        const rejected = outcomes.find((o) => o.status === 'rejected');
        expect(isConcurrencyError(rejected?.reason)).toBe(true);
        expect(await collect(store.readStream(s.club()))).toHaveLength(2);
      });
    });

    describe('idempotent retries', () => {
      it('a batch resent at the same expected revision succeeds and writes nothing', async () => {
        const batch = [clubEstablished(), clubSessionHeld()];
        const first = await store.append(s.club(), batch, { expectedRevision: 'noStream' });
        const again = await store.append(s.club(), batch, { expectedRevision: 'noStream' });
        expect(first.written).toBe(true);
        expect(again).toEqual({ ...first, written: false });
        expect(ids(await collect(store.readStream(s.club())))).toEqual(ids(batch));
      });

      it('a batch resent after later writes, at the revision it first expected, writes nothing', async () => {
        await store.append(s.club(), [clubEstablished()]);
        const batch = [clubSessionHeld(), clubSessionHeld()];
        const first = await store.append(s.club(), batch, { expectedRevision: 0n });
        await store.append(s.club(), [clubSessionHeld()], { expectedRevision: 2n });
        await store.append(s.outreach(), [outreachConducted()]);

        const again = await store.append(s.club(), batch, { expectedRevision: 0n });
        expect(again).toEqual({ nextExpectedRevision: 2n, position: first.position, written: false });
        expect(await collect(store.readStream(s.club()))).toHaveLength(4);
      });

      it('a batch resent with any or streamExists writes nothing', async () => {
        await store.append(s.club(), [clubEstablished()]);
        const batch = [clubSessionHeld(), clubSessionHeld()];
        const first = await store.append(s.club(), batch, { expectedRevision: 0n });
        await store.append(s.club(), [clubSessionHeld()]);
        expect(await store.append(s.club(), batch)).toEqual({ ...first, written: false });
        expect(await store.append(s.club(), batch, { expectedRevision: 'any' })).toEqual({
          ...first,
          written: false,
        });
        expect(await store.append(s.club(), batch, { expectedRevision: 'streamExists' })).toEqual({
          ...first,
          written: false,
        });
        expect(await collect(store.readStream(s.club()))).toHaveLength(4);
      });

      it('the first events of a stored batch, resent alone, write nothing', async () => {
        const batch = [clubEstablished(), clubSessionHeld(), clubSessionHeld()];
        await store.append(s.club(), batch);
        const again = await store.append(s.club(), batch.slice(0, 2), { expectedRevision: 'noStream' });
        expect(again).toMatchObject({ nextExpectedRevision: 1n, written: false });
        expect(await collect(store.readStream(s.club()))).toHaveLength(3);
      });

      it('stored ids resent at an expected revision that does not fit raise a ConcurrencyError', async () => {
        await store.append(s.club(), [clubEstablished()]);
        const batch = [clubSessionHeld()];
        await store.append(s.club(), batch, { expectedRevision: 0n });

        const wrongRevision = await failureOf(() => store.append(s.club(), batch, { expectedRevision: 1n }));
        expect(isConcurrencyError(wrongRevision)).toBe(true);
        if (isConcurrencyError(wrongRevision)) {
          expect(wrongRevision).toMatchObject({ streamId: s.club(), expected: 1n, actual: 1n });
        }
        const wrongStart = await failureOf(() =>
          store.append(s.club(), batch, { expectedRevision: 'noStream' }),
        );
        expect(isConcurrencyError(wrongStart)).toBe(true);
        expect(await collect(store.readStream(s.club()))).toHaveLength(2);
      });

      it('a batch mixing stored and new ids raises an IdempotencyError and writes nothing', async () => {
        const stored = clubEstablished();
        await store.append(s.club(), [stored]);
        const error = await failureOf(() => store.append(s.club(), [stored, clubSessionHeld()]));
        expect(isIdempotencyError(error)).toBe(true);
        if (isIdempotencyError(error)) {
          expect(error.streamId).toBe(s.club());
          expect(error.eventIds).toContain(stored.id);
        }
        expect(await collect(store.readStream(s.club()))).toHaveLength(1);
      });

      it('a batch whose first id is new but a later one is stored raises an IdempotencyError naming it', async () => {
        const stored = clubEstablished();
        await store.append(s.club(), [stored]);
        const fresh = [clubSessionHeld(), stored, clubSessionHeld()];
        for (const expectedRevision of ['any', 0n, 5n, 'noStream'] as const) {
          const error = await failureOf(() => store.append(s.club(), fresh, { expectedRevision }));
          expect(isIdempotencyError(error)).toBe(true);
          if (isIdempotencyError(error)) {
            expect(error.streamId).toBe(s.club());
            expect(error.eventIds).toEqual([stored.id]);
          }
        }
        const elsewhere = await failureOf(() => store.append(s.club('b'), fresh));
        expect(isIdempotencyError(elsewhere)).toBe(true);
        expect(isStreamNotFoundError(await failureOf(() => store.readStream(s.club('b'))))).toBe(true);
        expect(ids(await collect(store.readStream(s.club())))).toEqual([stored.id]);
      });

      it('ids stored in another stream, or out of order, raise an IdempotencyError', async () => {
        const batch = [clubEstablished(), clubSessionHeld()];
        await store.append(s.club(), batch);
        const elsewhere = await failureOf(() => store.append(s.club('b'), batch));
        expect(isIdempotencyError(elsewhere)).toBe(true);
        expect(isStreamNotFoundError(await failureOf(() => store.readStream(s.club('b'))))).toBe(true);

        const reordered = await failureOf(() => store.append(s.club(), [...batch].reverse()));
        expect(isIdempotencyError(reordered)).toBe(true);
        expect(await collect(store.readStream(s.club()))).toHaveLength(2);
      });
    });

    describe('readStream', () => {
      const fill = async (count: number) => {
        const events = [clubEstablished(), ...Array.from({ length: count - 1 }, () => clubSessionHeld())];
        await store.append(s.club(), events);
        await store.append(s.club('b'), [clubEstablished('b')]);
        return ids(events);
      };

      it('reads a stream forwards from revision 0 by default, and none of its neighbours', async () => {
        const written = await fill(5);
        const events = await collect(store.readStream(s.club()));
        expect(ids(events)).toEqual(written);
        expect(events.map((event) => event.revision)).toEqual([0n, 1n, 2n, 3n, 4n]);
      });

      it('starts at fromRevision, inclusive', async () => {
        const written = await fill(5);
        const events = await collect(store.readStream(s.club(), { fromRevision: 2n }));
        expect(ids(events)).toEqual(written.slice(2));
        expect(await collect(store.readStream(s.club(), { fromRevision: 5n }))).toEqual([]);
      });

      it('reads backwards from the end by default, or from fromRevision', async () => {
        const written = await fill(5);
        const backwards = await collect(store.readStream(s.club(), { direction: 'backwards' }));
        expect(ids(backwards)).toEqual([...written].reverse());
        expect(backwards.map((event) => event.revision)).toEqual([4n, 3n, 2n, 1n, 0n]);
        const fromTwo = await collect(
          store.readStream(s.club(), { direction: 'backwards', fromRevision: 2n }),
        );
        expect(ids(fromTwo)).toEqual(written.slice(0, 3).reverse());
      });

      it('stops after maxCount events, in either direction', async () => {
        const written = await fill(5);
        expect(ids(await collect(store.readStream(s.club(), { maxCount: 2 })))).toEqual(written.slice(0, 2));
        expect(ids(await collect(store.readStream(s.club(), { fromRevision: 1n, maxCount: 3 })))).toEqual(
          written.slice(1, 4),
        );
        const lastTwo = await collect(store.readStream(s.club(), { direction: 'backwards', maxCount: 2 }));
        expect(ids(lastTwo)).toEqual([written[4], written[3]]);
        expect(ids(await collect(store.readStream(s.club(), { maxCount: 10 })))).toEqual(written);
      });

      it('throws StreamNotFoundError when iterating a stream with no events', async () => {
        await fill(2);
        const error = await failureOf(() => store.readStream(s.club('never-written')));
        expect(isStreamNotFoundError(error)).toBe(true);
        if (isStreamNotFoundError(error)) expect(error.streamId).toBe(s.club('never-written'));
        const backwards = await failureOf(() => store.readStream(s.club('c'), { direction: 'backwards' }));
        expect(isStreamNotFoundError(backwards)).toBe(true);
      });
    });

    describe('readAll', () => {
      /** Appends to three streams of two categories, interleaved; returns the events in append order. */
      const fill = async (): Promise<NewEvent[]> => {
        const order: NewEvent[] = [];
        const add = async (stream: string, events: NewEvent[]) => {
          await store.append(stream, events);
          order.push(...events);
        };
        await add(s.club('a'), [clubEstablished('a'), clubSessionHeld('a')]);
        await add(s.outreach(), [outreachConducted()]);
        await add(s.club('b'), [clubEstablished('b')]);
        await add(s.club('a'), [clubSessionHeld('a'), clubSessionHeld('a')]);
        await add(s.outreach(), [outreachConducted(), outreachConductedV1()]);
        await add(s.club('b'), [clubSessionHeld('b')]);
        return order;
      };

      it('reads every stream in the one global order the appends made', async () => {
        const order = await fill();
        const all = (await collect(store.readAll())).filter((event) =>
          s.prefixes.some((prefix) => event.streamId.startsWith(prefix)),
        );
        expect(ids(all)).toEqual(ids(order));
        expect(isStrictlyIncreasing(all.map((event) => event.position))).toBe(true);
        expect(placements(await readMine())).toEqual(placements(all));
      });

      it('filters by event type and by stream prefix, and both at once', async () => {
        const order = await fill();
        const sessions = await readMine({ eventTypes: ['ClubSessionHeld'] });
        expect(ids(sessions)).toEqual(ids(order.filter((event) => event.type === 'ClubSessionHeld')));

        const outreach = await readMine({ streamPrefixes: [s.outreachPrefix] });
        expect(ids(outreach)).toEqual(ids(order.filter((event) => event.type === 'OutreachConducted')));

        const clubB = await readMine({ streamPrefixes: [s.club('b')] });
        expect(clubB.map((event) => event.streamId)).toEqual([s.club('b'), s.club('b')]);

        const both = await readMine({
          eventTypes: ['ClubEstablished', 'OutreachConducted'],
          streamPrefixes: [s.club('a'), s.outreachPrefix],
        });
        expect(both.map((event) => `${event.streamId}:${event.type}`)).toEqual([
          `${s.club('a')}:ClubEstablished`,
          `${s.outreach()}:OutreachConducted`,
          `${s.outreach()}:OutreachConducted`,
          `${s.outreach()}:OutreachConducted`,
        ]);
      });

      it('reads after a checkpoint, exclusive', async () => {
        await fill();
        const all = await readMine();
        const checkpoint = all[3]?.position ?? 0n;
        expect(placements(await readMine({}, checkpoint))).toEqual(placements(all.slice(4)));
        const last = all.at(-1)?.position ?? 0n;
        expect(await readMine({}, last)).toEqual([]);
        const tail = await collect(store.readAll({ after: last }));
        expect(tail.every((event) => event.position > last)).toBe(true);
      });

      it('stops after maxCount matching events', async () => {
        await fill();
        const all = await readMine();
        const first = await collect(store.readAll({ filter: { streamPrefixes: s.prefixes }, maxCount: 3 }));
        expect(placements(first)).toEqual(placements(all.slice(0, 3)));
        const page = await collect(
          store.readAll({
            after: all[2]?.position ?? 0n,
            filter: { streamPrefixes: s.prefixes, eventTypes: ['ClubSessionHeld'] },
            maxCount: 2,
          }),
        );
        expect(placements(page)).toEqual(
          placements(all.slice(3).filter((event) => event.type === 'ClubSessionHeld')).slice(0, 2),
        );
      });
    });

    describe('readAllPages', () => {
      /**
       * The store's pages, or — for a store that does not offer them — the pages a reader makes
       * with pagesOf over readAll, as the projection engine does: either way they must be readAll's.
       */
      const readPages = (options: ReadAllOptions): AsyncIterable<readonly RecordedEvent[]> =>
        store.readAllPages ? store.readAllPages(options) : pagesOf(store.readAll(options));

      /** More events than a store's page holds, over two streams. */
      const fillMany = async (): Promise<void> => {
        for (let i = 0; i < 7; i += 1) {
          await store.append(
            s.club(i % 2),
            Array.from({ length: 100 }, () => clubSessionHeld()),
          );
          await store.append(s.outreach(), [outreachConducted()]);
        }
      };

      it('hands out the very events readAll gives, in pages that are never empty', async () => {
        await fillMany();
        const all = await readMine();
        expect(all).toHaveLength(707);
        const cases: ReadAllOptions[] = [
          { filter: { streamPrefixes: s.prefixes } },
          { filter: { streamPrefixes: s.prefixes, eventTypes: ['OutreachConducted'] } },
          { after: all[250]?.position ?? 0n, filter: { streamPrefixes: s.prefixes } },
          { after: all[10]?.position ?? 0n, filter: { streamPrefixes: s.prefixes }, maxCount: 600 },
          { filter: { streamPrefixes: s.prefixes }, maxCount: 0 },
        ];
        for (const options of cases) {
          const pages = await collect(readPages(options));
          expect(pages.every((page) => page.length > 0)).toBe(true);
          expect(placements(pages.flat())).toEqual(placements(await collect(store.readAll(options))));
        }
      });

      it('lets a reader stop after a page, and reads again from where it stopped', async () => {
        await fillMany();
        const options: ReadAllOptions = { filter: { streamPrefixes: s.prefixes } };
        let first: readonly RecordedEvent[] = [];
        for await (const page of readPages(options)) {
          first = page;
          break;
        }
        expect(first.length).toBeGreaterThan(0);
        const rest = await collect(readPages({ ...options, after: first.at(-1)?.position ?? 0n }));
        expect(placements([...first, ...rest.flat()])).toEqual(placements(await readMine()));
      });
    });

    describe('subscribe', () => {
      it('catches up from the log, then goes live, with no gap and no duplicate', async () => {
        const history = [clubEstablished(), clubSessionHeld(), clubSessionHeld()];
        await store.append(s.club(), history);
        const recording = subscribe({ filter: { streamPrefixes: s.prefixes } });
        await waitForEvents(recording, 3);
        const live = [outreachConducted(), outreachConducted()];
        await store.append(s.outreach(), live);
        const sentinel = await flush(recording);
        expect(ids(recording.events)).toEqual([...ids(history), ...ids(live), sentinel]);
        expect(isStrictlyIncreasing(recording.events.map((event) => event.position))).toBe(true);
      });

      it('has no gap and no duplicate when appends race with the subscription’s start', async () => {
        const racing: Promise<unknown>[] = [];
        for (let i = 0; i < 20; i += 1) racing.push(store.append(s.club(i % 3), [clubSessionHeld()]));
        const recording = subscribe({ filter: { streamPrefixes: s.prefixes } });
        for (let i = 0; i < 20; i += 1) racing.push(store.append(s.outreach(i % 2), [outreachConducted()]));
        await Promise.all(racing);
        const sentinel = await flush(recording);
        const all = await readMine();
        expect(all).toHaveLength(41);
        expect(placements(recording.events)).toEqual(placements(all));
        expect(recording.events.at(-1)?.id).toBe(sentinel);
      });

      it('from a checkpoint delivers exactly the events after it', async () => {
        await store.append(s.club(), [clubEstablished(), clubSessionHeld(), clubSessionHeld()]);
        await store.append(s.outreach(), [outreachConducted(), outreachConducted()]);
        const all = await readMine();
        const checkpoint = all[1]?.position ?? 0n;
        const recording = subscribe({ after: checkpoint, filter: { streamPrefixes: s.prefixes } });
        await waitForEvents(recording, 3);
        const more = clubSessionHeld();
        await store.append(s.club(), [more]);
        const sentinel = await flush(recording);
        expect(ids(recording.events)).toEqual([...ids(all.slice(2)), more.id, sentinel]);
        expect(recording.events.every((event) => event.position > checkpoint)).toBe(true);
      });

      it('from the end delivers only events appended later', async () => {
        const history = [clubEstablished(), clubSessionHeld()];
        await store.append(s.club(), history);
        const recording = subscribe({ after: 'end', filter: { streamPrefixes: s.prefixes } });
        // The port does not say when a subscription from the end starts listening: append probes,
        // one at a time, until one arrives. Each probe after that one must arrive too.
        const probes: string[] = [];
        const deadline = Date.now() + 15_000;
        while (recording.events.length === 0) {
          if (recording.failure) throw recording.failure;
          if (Date.now() > deadline) throw new Error('A subscription from the end never delivered an event.');
          const probe = clubSessionHeld();
          probes.push(probe.id);
          await store.append(s.club(), [probe]);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        const later = [clubSessionHeld(), clubSessionHeld()];
        await store.append(s.club(), later);
        const sentinel = await flush(recording);
        const received = ids(recording.events);
        expect(received.some((id) => ids(history).includes(id))).toBe(false);
        const firstProbe = probes.indexOf(received[0] ?? '');
        expect(firstProbe).toBeGreaterThanOrEqual(0);
        expect(received).toEqual([...probes.slice(firstProbe), ...ids(later), sentinel]);
      });

      it('delivers only events that match its filter, in global order', async () => {
        const recording = subscribe({
          filter: { eventTypes: ['ClubEstablished', 'OutreachConducted'], streamPrefixes: s.prefixes },
        });
        await store.append(s.club(), [clubEstablished(), clubSessionHeld()]);
        await store.append(s.outreach(), [outreachConducted()]);
        await store.append(s.club('b'), [clubSessionHeld('b'), clubEstablished('b')]);
        const sentinel = await flush(recording);
        const expected = await readMine({ eventTypes: ['ClubEstablished', 'OutreachConducted'] });
        expect(placements(recording.events)).toEqual(placements(expected));
        expect(recording.events.map((event) => event.type)).toEqual([
          'ClubEstablished',
          'OutreachConducted',
          'ClubEstablished',
          'ClubEstablished',
        ]);
        expect(recording.events.at(-1)?.id).toBe(sentinel);
      });

      it('stops delivering when unsubscribed', async () => {
        const recording = subscribe({ filter: { streamPrefixes: s.prefixes } });
        await store.append(s.club(), [clubEstablished()]);
        await waitForEvents(recording, 1);
        recording.subscription?.unsubscribe();
        const witness = subscribe({ filter: { streamPrefixes: s.prefixes } });
        await store.append(s.club(), [clubSessionHeld(), clubSessionHeld()]);
        await flush(witness);
        expect(witness.events).toHaveLength(4);
        expect(recording.events).toHaveLength(1);
        expect(recording.failure).toBeUndefined();
      });

      it('unsubscribing while it catches up stops delivery at once', async () => {
        await store.append(
          s.club(),
          Array.from({ length: 300 }, (_, i) => clubSessionHeld('riverfront-1', { count: i % 20 })),
        );
        let received = 0;
        const subscription = store.subscribe({ filter: { streamPrefixes: s.prefixes } }).subscribe(() => {
          received += 1;
        });
        const atUnsubscribe = received;
        subscription.unsubscribe();
        const witness = subscribe({ filter: { streamPrefixes: s.prefixes } });
        await store.append(s.club(), [clubSessionHeld()]);
        await flush(witness);
        expect(witness.events).toHaveLength(302);
        expect(received).toBe(atUnsubscribe);
      });
    });

    describe('events as read', () => {
      it('upcasts old schema versions on read, everywhere, without rewriting them', async () => {
        const recording = subscribe({ filter: { streamPrefixes: s.prefixes } });
        const old = outreachConductedV1(12);
        await store.append(s.outreach(), [old], { expectedRevision: 'noStream' });
        const expectedData = {
          programmeId: 'pp-phnom-penh',
          teamId: 'night-team-1',
          mode: 'night-outreach',
          area: 'KH-12-01',
          shiftStart: '2019-03-01T21:00:00+07:00',
          shiftEnd: '2019-03-02T01:30:00+07:00',
          contacts: [{ sex: 'unknown', ageBand: 'unknown', count: 12 }],
          newChildRefs: [],
          leafletsDistributed: 25,
        };
        const [fromStream] = await collect(store.readStream(s.outreach()));
        const [fromAll] = await readMine();
        await waitForEvents(recording, 1);
        for (const event of [fromStream, fromAll, recording.events[0]]) {
          expect(event?.id).toBe(old.id);
          expect(event?.data).toEqual(expectedData);
          expect(event?.metadata.schemaVersion).toBe(2);
        }
        // Reading again gives the same: nothing stored was rewritten by the first read.
        expect((await collect(store.readStream(s.outreach())))[0]?.data).toEqual(expectedData);
      });

      it('carries revisions and positions as bigint everywhere', async () => {
        const recording = subscribe({ filter: { streamPrefixes: s.prefixes } });
        const result = await store.append(s.club(), [clubEstablished()]);
        expect(typeof result.nextExpectedRevision).toBe('bigint');
        expect(typeof result.position).toBe('bigint');
        await waitForEvents(recording, 1);
        const events = [
          ...(await collect(store.readStream(s.club()))),
          ...(await readMine()),
          ...recording.events,
        ];
        for (const event of events) {
          expect(typeof event.revision).toBe('bigint');
          expect(typeof event.position).toBe('bigint');
        }
      });

      it('returns the envelope and metadata exactly as appended', async () => {
        const correlationId = '0190c3a5-7c1e-7d2a-9f3b-4c5d6e7f8a9b';
        const causationId = '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f';
        const event = clubEstablished('riverfront-1', {
          metadata: { occurredAt: '2020-05-31T23:30:00+07:00', correlationId, causationId },
        });
        const plain = clubSessionHeld();
        await store.append(s.club(), [event, plain]);
        const [read, readPlain] = await collect(store.readStream(s.club()));
        expect(read).toMatchObject({
          id: event.id,
          type: 'ClubEstablished',
          streamId: s.club(),
          revision: 0n,
          data: event.data,
        });
        expect(read?.metadata).toEqual({
          occurredAt: '2020-05-31T23:30:00+07:00',
          recordedBy: staffMember,
          correlationId,
          causationId,
          schemaVersion: 1,
        });
        expect(readPlain?.metadata).toEqual(metadata());
        expect(readPlain?.data).toEqual(plain.data);
      });

      it('cannot be changed by the caller, before or after it is stored', async () => {
        const event = clubSessionHeld('riverfront-1', { count: 7 });
        await store.append(s.club(), [event]);
        const original = structuredClone(event.data);
        (event.data as { attendance: { count: number }[] }).attendance[0] = { count: 99 };
        (event.metadata as { recordedBy: string }).recordedBy = 'st_0000000000000000';

        const [read] = await collect(store.readStream(s.club()));
        expect(read?.data).toEqual(original);
        expect(read?.metadata.recordedBy).toBe(staffMember);
        try {
          (read?.data as { clubId: string }).clubId = 'tampered';
          (read?.metadata as { recordedBy: string }).recordedBy = 'st_0000000000000000';
          (read as { revision: bigint }).revision = 9n;
        } catch {
          // A frozen event refuses the change: that is one way to keep the contract.
        }
        const [again] = await collect(store.readStream(s.club()));
        expect(again?.data).toEqual(original);
        expect(again?.metadata.recordedBy).toBe(staffMember);
        expect(again?.revision).toBe(0n);
        const [fromAll] = await readMine();
        expect(fromAll?.data).toEqual(original);
      });
    });

    describe('close', () => {
      it('completes live subscriptions, and later calls fail with a StoreError', async () => {
        const recording = subscribe();
        await store.append(s.club(), [clubEstablished()]);
        await waitFor(
          () => recording.events.some((event) => event.streamId === s.club()),
          'the event arrived',
        );
        await store.close();
        await waitFor(() => recording.completed, 'the live subscription completed');
        expect(recording.failure).toBeUndefined();

        const failures = [
          await failureOf(() => store.append(s.club(), [clubSessionHeld()])),
          await failureOf(() => store.readStream(s.club())),
          await failureOf(() => store.readAll()),
          await failureOf(
            () =>
              new Promise((resolve, reject) => {
                store
                  .subscribe()
                  .subscribe({ next: resolve, error: reject, complete: () => resolve(undefined) });
              }),
          ),
        ];
        for (const failure of failures) {
          expect(isStoreError(failure)).toBe(true);
          expect((failure as Error).message).toMatch(/closed/i);
        }
        await store.close();
      });
    });

    describe('properties', () => {
      /** Runs a property step against a store of its own. */
      const withStore = async <T>(body: (store: EventStore) => Promise<T>): Promise<T> => {
        const { store: own, cleanup: ownCleanup } = await factory();
        try {
          return await body(own);
        } finally {
          await own.close();
          await ownCleanup?.();
        }
      };

      const expectedArb: fc.Arbitrary<ExpectedRevision> = fc.oneof(
        fc.constant<ExpectedRevision>('any'),
        fc.constant<ExpectedRevision>('noStream'),
        fc.constant<ExpectedRevision>('streamExists'),
        fc.integer({ min: 0, max: 5 }).map((n): ExpectedRevision => BigInt(n)),
      );

      const batchArb = fc.record({
        stream: fc.integer({ min: 0, max: 3 }),
        size: fc.integer({ min: 1, max: 3 }),
        seed: fc.nat({ max: 1000 }),
      });

      const streamFor = (ns: ReturnType<typeof streamsOf>, index: number): string =>
        index % 2 === 0 ? ns.club(index) : ns.outreach(index);

      const eventsFor = (stream: string, size: number, seed: number): NewEvent[] =>
        Array.from({ length: size }, (_, i) => someEvent(stream, seed + i));

      it('no interleaving of concurrent appends loses, duplicates or reorders an event', async () => {
        const opArb = fc.record({
          stream: fc.integer({ min: 0, max: 3 }),
          size: fc.integer({ min: 1, max: 3 }),
          seed: fc.nat({ max: 1000 }),
          expected: expectedArb,
          retryOf: fc.option(fc.nat(), { nil: undefined, freq: 4 }),
        });
        await fc.assert(
          fc.asyncProperty(
            fc.array(opArb, { minLength: 1, maxLength: 16 }),
            fc.scheduler(),
            async (ops, scheduler) => {
              const ns = streamsOf(namespace());
              const batches: { stream: string; events: NewEvent[]; expected: ExpectedRevision }[] = [];
              for (const [i, op] of ops.entries()) {
                const original = op.retryOf !== undefined && i > 0 ? batches[op.retryOf % i] : undefined;
                const stream = original?.stream ?? streamFor(ns, op.stream);
                batches.push(
                  original
                    ? { stream, events: original.events, expected: 'any' }
                    : { stream, events: eventsFor(stream, op.size, op.seed), expected: op.expected },
                );
              }

              await withStore(async (own) => {
                const pending = batches.map((batch, i) =>
                  scheduler
                    .schedule(Promise.resolve(), `append #${i}`)
                    .then(() => own.append(batch.stream, batch.events, { expectedRevision: batch.expected })),
                );
                await scheduler.waitAll();
                const outcomes = await Promise.allSettled(pending);

                const acknowledged = new Set<string>();
                outcomes.forEach((outcome, i) => {
                  const batch = batches[i];
                  if (!batch) return;
                  if (outcome.status === 'rejected') {
                    expect(isConcurrencyError(outcome.reason)).toBe(true);
                    expect((outcome.reason as { streamId: string }).streamId).toBe(batch.stream);
                    return;
                  }
                  for (const event of batch.events) acknowledged.add(event.id);
                });

                const all = await collect(own.readAll({ filter: { streamPrefixes: ns.prefixes } }));
                // Every acknowledged event exactly once; nothing of a rejected batch.
                expect(new Set(ids(all)).size).toBe(all.length);
                expect(new Set(ids(all))).toEqual(acknowledged);
                expect(isStrictlyIncreasing(all.map((event) => event.position))).toBe(true);

                const byId = new Map(all.map((event) => [event.id, event]));
                for (const streamId of new Set(batches.map((batch) => batch.stream))) {
                  const inStream = all.filter((event) => event.streamId === streamId);
                  expect(inStream.map((event) => event.revision)).toEqual(inStream.map((_, i) => BigInt(i)));
                  if (inStream.length > 0) {
                    expect(placements(await collect(own.readStream(streamId)))).toEqual(placements(inStream));
                  }
                }

                // Each acknowledged batch sits whole, in order, where its acknowledgement says.
                outcomes.forEach((outcome, i) => {
                  const batch = batches[i];
                  if (!batch || outcome.status !== 'fulfilled' || batch.events.length === 0) return;
                  const result = outcome.value;
                  const stored = batch.events.map((event) => byId.get(event.id));
                  const n = BigInt(batch.events.length);
                  expect(stored.map((event) => event?.streamId)).toEqual(
                    batch.events.map(() => batch.stream),
                  );
                  expect(stored.map((event) => event?.revision)).toEqual(
                    batch.events.map((_, k) => result.nextExpectedRevision - n + 1n + BigInt(k)),
                  );
                  expect(stored.at(-1)?.position).toBe(result.position);
                  const firstRevision = result.nextExpectedRevision - n + 1n;
                  if (typeof batch.expected === 'bigint') expect(firstRevision).toBe(batch.expected + 1n);
                  if (batch.expected === 'noStream') expect(firstRevision).toBe(0n);
                  if (batch.expected === 'streamExists' && result.written) {
                    expect(firstRevision > 0n).toBe(true);
                  }
                });
              });
            },
          ),
          { numRuns },
        );
      });

      it('every reader sees one total order, even while appends go on', async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.array(batchArb, { minLength: 1, maxLength: 10 }),
            fc.array(batchArb, { maxLength: 10 }),
            fc.scheduler(),
            async (before, during, scheduler) => {
              const ns = streamsOf(namespace());
              const streams = [0, 1, 2, 3].map((i) => streamFor(ns, i));
              const filter = { streamPrefixes: ns.prefixes };
              await withStore(async (own) => {
                for (const batch of before) {
                  const stream = streamFor(ns, batch.stream);
                  await own.append(stream, eventsFor(stream, batch.size, batch.seed));
                }
                const readStreamOrNothing = async (streamId: string) => {
                  try {
                    return await collect(own.readStream(streamId));
                  } catch (error) {
                    if (isStreamNotFoundError(error)) return [];
                    throw error;
                  }
                };
                const appends = during.map((batch, i) => {
                  const stream = streamFor(ns, batch.stream);
                  return scheduler
                    .schedule(Promise.resolve(), `append #${i}`)
                    .then(() => own.append(stream, eventsFor(stream, batch.size, batch.seed)));
                });
                const readers = [0, 1, 2].map((i) =>
                  scheduler
                    .schedule(Promise.resolve(), `reader #${i}`)
                    .then(() => collect(own.readAll({ filter }))),
                );
                const unfiltered = scheduler
                  .schedule(Promise.resolve(), 'unfiltered reader')
                  .then(() => collect(own.readAll()));
                const streamReaders = streams.map((stream) =>
                  scheduler
                    .schedule(Promise.resolve(), `reader of ${stream}`)
                    .then(() => readStreamOrNothing(stream)),
                );
                await scheduler.waitAll();
                await Promise.all(appends);

                const total = await collect(own.readAll({ filter }));
                expect(placements(await collect(own.readAll({ filter })))).toEqual(placements(total));
                expect(isStrictlyIncreasing(total.map((event) => event.position))).toBe(true);
                const isPrefix = (seen: readonly RecordedEvent[], of: readonly RecordedEvent[]) =>
                  expect(placements(seen)).toEqual(placements(of.slice(0, seen.length)));
                for (const seen of await Promise.all(readers)) isPrefix(seen, total);
                const mine = (await unfiltered).filter((event) =>
                  ns.prefixes.some((p) => event.streamId.startsWith(p)),
                );
                isPrefix(mine, total);

                const concurrentStreams = await Promise.all(streamReaders);
                for (const [i, stream] of streams.entries()) {
                  const inTotal = total.filter((event) => event.streamId === stream);
                  expect(placements(await readStreamOrNothing(stream))).toEqual(placements(inTotal));
                  isPrefix(concurrentStreams[i] ?? [], inTotal);
                }
              });
            },
          ),
          { numRuns },
        );
      });

      it('a subscriber from any checkpoint sees exactly the suffix, while appends go on', async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.array(batchArb, { maxLength: 10 }),
            fc.array(batchArb, { maxLength: 10 }),
            fc.nat(),
            fc.boolean(),
            fc.scheduler(),
            async (before, during, checkpointPick, byType, scheduler) => {
              const ns = streamsOf(namespace());
              const filter: EventFilter = byType
                ? { eventTypes: ['ClubEstablished', 'OutreachConducted'], streamPrefixes: ns.prefixes }
                : { streamPrefixes: ns.prefixes };
              await withStore(async (own) => {
                for (const batch of before) {
                  const stream = streamFor(ns, batch.stream);
                  await own.append(stream, eventsFor(stream, batch.size, batch.seed));
                }
                const history = await collect(own.readAll({ filter: { streamPrefixes: ns.prefixes } }));
                const pick = checkpointPick % (history.length + 1);
                const after = pick === 0 ? undefined : history[pick - 1]?.position;

                let recording: Recording | undefined;
                const started = scheduler.schedule(Promise.resolve(), 'subscribe').then(() => {
                  recording = record(own.subscribe({ ...(after === undefined ? {} : { after }), filter }));
                });
                const appends = during.map((batch, i) => {
                  const stream = streamFor(ns, batch.stream);
                  return scheduler
                    .schedule(Promise.resolve(), `append #${i}`)
                    .then(() => own.append(stream, eventsFor(stream, batch.size, batch.seed)));
                });
                await scheduler.waitAll();
                await Promise.all([started, ...appends]);
                const current = recording;
                if (!current) throw new Error('The subscription did not start.');
                try {
                  const expected = await collect(
                    own.readAll({ ...(after === undefined ? {} : { after }), filter }),
                  );
                  const sentinel = clubEstablished('sentinel');
                  await own.append(ns.club('sentinel'), [sentinel]);
                  await waitFor(() => {
                    if (current.failure) throw current.failure;
                    return current.events.some((event) => event.id === sentinel.id);
                  }, 'the sentinel arrived');
                  expect(ids(current.events)).toEqual([...ids(expected), sentinel.id]);
                  expect(isStrictlyIncreasing(current.events.map((event) => event.position))).toBe(true);
                } finally {
                  current.subscription?.unsubscribe();
                }
              });
            },
          ),
          { numRuns },
        );
      });
    });
  });
};
