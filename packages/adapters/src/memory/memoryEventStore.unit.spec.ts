import type { EventStore, NewEvent, RecordedEvent } from '@lantern/core';
import {
  ClubEstablished,
  ClubSessionHeld,
  createEventRegistry,
  isStoreError,
  isValidationError,
} from '@lantern/core';
import { firstValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createMemoryEventStore } from './memoryEventStore.js';

// What only the memory store promises; the shared contract lives in test/storeContract.

const meta = { occurredAt: '2019-03-01T16:00:00+07:00', recordedBy: 'st_5a1c0b7e2d4a61f3' };

const established = (clubId = 'riverfront-1'): NewEvent =>
  ClubEstablished.toNew(
    {
      programmeId: 'pp-phnom-penh',
      clubId,
      name: 'Riverfront kids club',
      area: 'KH-12-09',
      kind: 'kids-club',
      establishedOn: '2019-03-01',
    },
    meta,
  );

const session = (count = 5): NewEvent =>
  ClubSessionHeld.toNew(
    {
      clubId: 'riverfront-1',
      heldOn: '2019-03-02',
      activity: 'play',
      attendance: [{ sex: 'female', ageBand: '5-11', count }],
    },
    meta,
  );

/**
 * Reads the whole log, running `each` after every event, and says how many events had been read
 * when the event loop first ran (-1: not before the read was over).
 */
const readWatchingLoop = async (store: EventStore, each: () => void = () => {}) => {
  let read = 0;
  let readWhenLoopRan = -1;
  setImmediate(() => {
    readWhenLoopRan = read;
  });
  for await (const _event of store.readAll()) {
    read += 1;
    each();
  }
  return { read, readWhenLoopRan };
};

/** A store holding 3,000 events of one club. */
const longLog = async (turnMs?: number) => {
  const store = createMemoryEventStore(turnMs === undefined ? {} : { turnMs });
  await store.append(
    'club-riverfront-1',
    Array.from({ length: 3000 }, (_, i) => session(i % 30)),
  );
  return store;
};

const collect = async <T>(iterable: AsyncIterable<T>): Promise<T[]> => {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
};

const failureOf = async (action: () => unknown): Promise<unknown> => {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('Expected the call to fail, but it succeeded.');
};

describe('createMemoryEventStore', () => {
  it('stamps recordedAt from the given clock, once per batch', async () => {
    const store = createMemoryEventStore({ now: () => new Date('2020-05-31T16:30:00Z') });
    await store.append('club-riverfront-1', [established(), session()]);
    const events = await collect(store.readStream('club-riverfront-1'));
    expect(events.map((event) => event.recordedAt)).toEqual([
      '2020-05-31T16:30:00.000Z',
      '2020-05-31T16:30:00.000Z',
    ]);
  });

  it('numbers positions 1, 2, 3… across streams', async () => {
    const store = createMemoryEventStore();
    await store.append('club-a', [established('a')]);
    await store.append('club-b', [established('b'), session()]);
    expect((await collect(store.readAll())).map((event) => event.position)).toEqual([1n, 2n, 3n]);
  });

  it('accepts the event types of the registry it is given, and only those', async () => {
    const store = createMemoryEventStore({ registry: createEventRegistry([ClubEstablished]) });
    await store.append('club-a', [established('a')]);
    expect((await collect(store.readStream('club-a')))[0]?.type).toBe('ClubEstablished');
    const refused = await failureOf(() => store.append('club-a', [session()]));
    expect(isValidationError(refused) && refused.path).toBe('type');
  });

  it('hands out frozen events: a caller cannot change them', async () => {
    const store = createMemoryEventStore();
    await store.append('club-riverfront-1', [session(5)]);
    const [event] = await collect(store.readStream('club-riverfront-1'));
    if (!event) throw new Error('The event was not read back.');
    expect(Object.isFrozen(event)).toBe(true);
    expect(() => {
      (event.data as { attendance: { count: number }[] }).attendance[0] = { count: 99 };
    }).toThrow(TypeError);
    expect(() => {
      (event.metadata as { recordedBy: string }).recordedBy = 'st_0000000000000000';
    }).toThrow(TypeError);
  });

  it('keeps its own copy, read back as a store on disk would give it', async () => {
    const store = createMemoryEventStore();
    const sent = session(5);
    const data = sent.data as { attendance: { count: number }[]; attendeeRefs?: string[] | undefined };
    data.attendeeRefs = undefined;
    await store.append('club-riverfront-1', [sent]);
    // The caller's objects stay the caller's: changing them later changes nothing stored.
    (data.attendance[0] as { count: number }).count = 99;
    const [event] = await collect(store.readStream('club-riverfront-1'));
    expect(event?.data).toEqual({
      clubId: 'riverfront-1',
      heldOn: '2019-03-02',
      activity: 'play',
      attendance: [{ sex: 'female', ageBand: '5-11', count: 5 }],
    });
    // As in JSON text: a field left undefined is not there at all.
    expect(Object.keys(event?.data as object)).not.toContain('attendeeRefs');
  });

  it('treats an event id in capitals as the same id', async () => {
    const store = createMemoryEventStore();
    const event = established();
    const first = await store.append('club-riverfront-1', [event]);
    const again = await store.append('club-riverfront-1', [{ ...event, id: event.id.toUpperCase() }]);
    expect(again).toEqual({ ...first, written: false });
  });

  it('refuses an expected revision, maxCount or checkpoint it does not understand', async () => {
    const store = createMemoryEventStore();
    const revision = await failureOf(() =>
      store.append('club-a', [established('a')], { expectedRevision: 'latest' as unknown as bigint }),
    );
    expect(revision).toBeInstanceOf(TypeError);
    expect(() => store.readAll({ maxCount: -1 })).toThrow(TypeError);
    expect(() => store.readStream('club-a', { maxCount: 1.5 })).toThrow(TypeError);
    expect(() => store.subscribe({ after: 3 as unknown as bigint })).toThrow(TypeError);
    expect(() => store.readStream('')).toThrow(TypeError);
  });

  it('lets the event loop run while a subscriber catches up on a long log', async () => {
    // turnMs 0: a pause every 256 events, however fast they go.
    const store = await longLog(0);
    let delivered = 0;
    let deliveredWhenLoopRan = -1;
    const subscription = store.subscribe().subscribe(() => {
      delivered += 1;
    });
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        deliveredWhenLoopRan = delivered;
        resolve();
      }),
    );
    await expect.poll(() => delivered, { timeout: 15_000 }).toBe(3000);
    subscription.unsubscribe();
    expect(deliveredWhenLoopRan).toBeGreaterThan(0);
    expect(deliveredWhenLoopRan).toBeLessThan(3000);
  });

  it('lets the event loop run while a reader goes through a long log', async () => {
    const { read, readWhenLoopRan } = await readWatchingLoop(await longLog(0));
    expect(read).toBe(3000);
    expect(readWhenLoopRan).toBeGreaterThanOrEqual(0);
    expect(readWhenLoopRan).toBeLessThan(3000);
  });

  describe('turnMs', () => {
    const busyFor = (ms: number): void => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };

    it('pauses a reader once it has kept the event loop for turnMs (2 by default)', async () => {
      // 0.05 ms per event: 256 events (when the clock is looked at) take about 13 ms, past 2 ms.
      const { read, readWhenLoopRan } = await readWatchingLoop(await longLog(), () => busyFor(0.05));
      expect(read).toBe(3000);
      expect(readWhenLoopRan).toBe(256);
    });

    it('does not pause a reader before turnMs has gone by', async () => {
      const { read, readWhenLoopRan } = await readWatchingLoop(await longLog(60_000));
      expect(read).toBe(3000);
      // The loop ran only once the read was over.
      expect(readWhenLoopRan).toBe(-1);
    });

    it('refuses a turnMs that is not a number of milliseconds', () => {
      expect(() => createMemoryEventStore({ turnMs: -1 })).toThrow(/turnMs must be a number of milliseconds/);
      expect(() => createMemoryEventStore({ turnMs: Number.NaN })).toThrow(TypeError);
    });
  });

  it('keeps delivery in order when a subscriber appends from its handler', async () => {
    const store = createMemoryEventStore();
    const seen: RecordedEvent[] = [];
    const subscription = store.subscribe({ after: 'end' }).subscribe((event) => {
      seen.push(event);
      if (event.type === 'ClubEstablished') void store.append('club-riverfront-1', [session(1)]);
    });
    await store.append('club-riverfront-1', [established(), session(2)]);
    await expect.poll(() => seen.length).toBe(3);
    subscription.unsubscribe();
    expect(seen.map((event) => event.position)).toEqual([1n, 2n, 3n]);
  });

  describe('close', () => {
    it('makes every later call fail with a StoreError that says the store is closed', async () => {
      const store = createMemoryEventStore();
      await store.append('club-a', [established('a')]);
      const made = store.subscribe();
      await store.close();
      await store.close();
      await expect(store.append('club-a', [session()])).rejects.toSatisfy(isStoreError);
      expect(() => store.readStream('club-a')).toThrow(/closed/);
      expect(() => store.readAll()).toThrow(/closed/);
      expect(() => store.subscribe()).toThrow(/closed/);
      await expect(firstValueFrom(made)).rejects.toSatisfy(isStoreError);
    });

    it('stops a reader half way and completes a subscription still catching up', async () => {
      const store = createMemoryEventStore();
      await store.append(
        'club-riverfront-1',
        Array.from({ length: 1000 }, (_, i) => session(i % 30)),
      );
      const catchingUp = firstValueFrom(store.subscribe().pipe(toArray()));
      const reader = store.readAll()[Symbol.asyncIterator]();
      await reader.next();
      await store.close();
      const delivered = await catchingUp;
      expect(delivered.length).toBeLessThan(1000);
      const failure = await failureOf(async () => {
        for (let next = await reader.next(); !next.done; next = await reader.next()) {
          // keep reading until the closed store stops the reader
        }
      });
      expect(isStoreError(failure)).toBe(true);
    });
  });
});
