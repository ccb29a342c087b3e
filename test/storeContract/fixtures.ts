import type { EventMetadata, NewEvent, RecordedEvent } from '@lantern/core';
import { v4 as uuidv4, v7 as uuidv7 } from 'uuid';

/**
 * Test data for the store contract: valid catalog events (and a few deliberately broken ones)
 * with fresh uuid ids. Every test works in its own namespace of stream names, so the suite also
 * holds against a store that other tests share.
 */

/** A staff pseudonym, as `recordedBy` requires. */
export const staffMember = 'st_5a1c0b7e2d4a61f3';
export const programmeId = 'pp-phnom-penh';

/** Metadata of an event recorded at 16:00 in Phnom Penh. */
export const metadata = (overrides: Partial<EventMetadata> = {}): EventMetadata => ({
  occurredAt: '2019-03-01T16:00:00+07:00',
  recordedBy: staffMember,
  schemaVersion: 1,
  ...overrides,
});

/** A short random tag that keeps one test's streams apart from every other test's. */
export const namespace = (): string => uuidv4().replaceAll('-', '').slice(0, 12);

/** Stream names of one test: `club-{ns}-{id}`, `outreach-{ns}-{id}`, …, with their prefixes for filters. */
export const streamsOf = (ns: string) => ({
  club: (id: string | number = 'a') => `club-${ns}-${id}`,
  outreach: (id: string | number = 'a') => `outreach-${ns}-${id}`,
  clubPrefix: `club-${ns}-`,
  outreachPrefix: `outreach-${ns}-`,
  /** Every stream of this test starts with one of these. */
  prefixes: [`club-${ns}-`, `outreach-${ns}-`],
});

export const clubEstablished = (
  clubId = 'riverfront-1',
  options: { id?: string; metadata?: Partial<EventMetadata> } = {},
): NewEvent => ({
  id: options.id ?? uuidv7(),
  type: 'ClubEstablished',
  data: {
    programmeId,
    clubId,
    name: 'Riverfront kids club',
    area: 'KH-12-09',
    kind: 'kids-club',
    establishedOn: '2019-03-01',
  },
  metadata: metadata(options.metadata),
});

export const clubSessionHeld = (
  clubId = 'riverfront-1',
  options: { id?: string; count?: number; heldOn?: string; metadata?: Partial<EventMetadata> } = {},
): NewEvent => ({
  id: options.id ?? uuidv4(),
  type: 'ClubSessionHeld',
  data: {
    clubId,
    heldOn: options.heldOn ?? '2019-03-02',
    activity: 'healing-arts',
    attendance: [
      { sex: 'female', ageBand: '5-11', count: options.count ?? 7 },
      { sex: 'male', ageBand: '12-17', count: 4 },
    ],
  },
  metadata: metadata(options.metadata),
});

/** A current (version 2) night outreach shift. */
export const outreachConducted = (options: { id?: string; newChildRefs?: string[] } = {}): NewEvent => ({
  id: options.id ?? uuidv7(),
  type: 'OutreachConducted',
  data: {
    programmeId,
    teamId: 'night-team-1',
    mode: 'night-outreach',
    area: 'KH-12-01',
    shiftStart: '2019-03-01T21:00:00+07:00',
    shiftEnd: '2019-03-02T01:30:00+07:00',
    contacts: [
      { sex: 'female', ageBand: '12-17', count: 5 },
      { sex: 'male', ageBand: '5-11', count: 3 },
    ],
    newChildRefs: options.newChildRefs ?? ['ch_3f9a1c0b7e2d4a61'],
    leafletsDistributed: 40,
  },
  metadata: metadata({ schemaVersion: 2 }),
});

/** The version 1 data of a shift: one head count, no breakdown. */
export const outreachV1Data = (childrenReached = 12) => ({
  programmeId,
  teamId: 'night-team-1',
  mode: 'night-outreach',
  area: 'KH-12-01',
  shiftStart: '2019-03-01T21:00:00+07:00',
  shiftEnd: '2019-03-02T01:30:00+07:00',
  childrenReached,
  leafletsDistributed: 25,
});

/** A shift recorded by an old field app at schema version 1. */
export const outreachConductedV1 = (childrenReached = 12, id: string = uuidv7()): NewEvent => ({
  id,
  type: 'OutreachConducted',
  data: outreachV1Data(childrenReached),
  metadata: metadata({ schemaVersion: 1 }),
});

/** A session whose second attendance cell has a negative count: `data.attendance.1.count` breaks "cannot be negative". */
export const invalidClubSession = (clubId = 'riverfront-1'): NewEvent => {
  const event = clubSessionHeld(clubId);
  const data = event.data as { attendance: { sex: string; ageBand: string; count: number }[] };
  return {
    ...event,
    data: { ...data, attendance: [data.attendance[0], { sex: 'male', ageBand: '12-17', count: -3 }] },
  };
};

/** Any valid event for a stream, picked by a number (property tests). */
export const someEvent = (stream: string, n: number): NewEvent => {
  const clubId = `club-${n % 7}`;
  if (stream.startsWith('outreach-')) return n % 2 === 0 ? outreachConducted() : outreachConductedV1(n + 1);
  return n % 3 === 0 ? clubEstablished(clubId) : clubSessionHeld(clubId, { count: n % 20 });
};

export const collect = async <T>(iterable: AsyncIterable<T>): Promise<T[]> => {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
};

export const ids = (events: readonly { id: string }[]): string[] => events.map((event) => event.id);

/** `id@position` of each event: compares sequences including where each event sits. */
export const placements = (events: readonly RecordedEvent[]): string[] =>
  events.map((event) => `${event.id}@${event.position}`);

/** The error a call fails with, whether it throws at once or rejects (or fails on iteration). */
export const failureOf = async (action: () => unknown): Promise<unknown> => {
  try {
    const result = action();
    if (result && typeof (result as PromiseLike<unknown>).then === 'function') await result;
    else if (result && typeof (result as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
      await collect(result as AsyncIterable<unknown>);
    }
  } catch (error) {
    return error;
  }
  throw new Error('Expected the call to fail, but it succeeded.');
};

/**
 * Waits until a condition holds, polling; fails with the description after a generous limit.
 * A limit, not a timing assertion: a slow machine only makes the wait longer.
 */
export const waitFor = async (
  condition: () => boolean,
  description: string,
  timeoutMs = 15_000,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${description}.`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
};
