import { type CatalogEventData, eventCatalog, type NewEvent } from '@lantern/core';
import { v4 as uuid, v7 as uuidv7 } from 'uuid';

/**
 * The workload every subject runs: catalog events a programme really records (club sessions and
 * night-outreach shifts), spread over many streams. Generated from a seed, so every subject, run
 * and worker process sees byte-for-byte the same events.
 */
export interface WorkloadOptions {
  /** Events in the full workload (batched appends and reads). */
  events: number;
  /** Streams the events are spread over, round-robin. */
  streams: number;
  /** Events per append in the batched scenario (all to one stream). */
  batchSize: number;
  /** Seed of the generator. */
  seed: number;
}

/** One append: a stream and the events sent to it in one call. */
export interface PlannedAppend {
  readonly streamId: string;
  readonly events: readonly NewEvent[];
}

/** What the fold computes: enough to prove every subject read the same events back. */
export interface Tally {
  events: number;
  /** Children and adults counted at club sessions and on outreach shifts. */
  people: number;
}

type SessionData = CatalogEventData<'ClubSessionHeld'>;
type OutreachData = CatalogEventData<'OutreachConducted'>;
type AttendanceCell = SessionData['attendance'][number];

export const emptyTally = (): Tally => ({ events: 0, people: 0 });

/**
 * The fold every read scenario applies, to each event's type and parsed data. It mutates and
 * returns the tally so it costs the same in every subject (and fits Emmett's `evolve`).
 */
export const foldEvent = (tally: Tally, type: string, data: unknown): Tally => {
  let cells: readonly AttendanceCell[] = [];
  if (type === 'ClubSessionHeld') cells = (data as SessionData).attendance;
  else if (type === 'OutreachConducted') cells = (data as OutreachData).contacts;
  tally.events += 1;
  for (const cell of cells) tally.people += cell.count;
  return tally;
};

export const addTallies = (a: Tally, b: Tally): Tally => ({
  events: a.events + b.events,
  people: a.people + b.people,
});

/** Stream k is a kids' club when k is even, a programme's outreach log when k is odd. */
const isClubStream = (k: number): boolean => k % 2 === 0;
const serial = (k: number): string => k.toString().padStart(5, '0');
const programmeIdOf = (k: number): string => `pp-${serial(k)}`;
const clubIdOf = (k: number): string => `smc-${serial(k)}`;

export const streamIdOf = (k: number): string =>
  isClubStream(k) ? `club-${clubIdOf(k)}` : `outreach-${programmeIdOf(k)}`;

export const streamIds = (options: WorkloadOptions): string[] =>
  Array.from({ length: options.streams }, (_, k) => streamIdOf(k));

/** mulberry32: small, fast and good enough to vary payloads deterministically. */
const randomSource = (seed: number) => {
  let state = seed >>> 0;
  const uint32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const integer = (below: number): number => Math.floor((uint32() / 4294967296) * below);
  const pick = <T>(items: readonly T[]): T => items[integer(items.length)] as T;
  const bytes = (length: number): Uint8Array => {
    const result = new Uint8Array(length);
    for (let i = 0; i < length; i += 1) result[i] = uint32() & 0xff;
    return result;
  };
  /** Sixteen lowercase hex digits, as pseudonyms carry. */
  const hex16 = (): string => uint32().toString(16).padStart(8, '0') + uint32().toString(16).padStart(8, '0');
  return { integer, pick, bytes, hex16 };
};

type Random = ReturnType<typeof randomSource>;

const sexes = ['female', 'male'] as const;
const ageBands = ['5-11', '12-17', '18+', 'unknown'] as const;
const areas = ['KH-12-06', 'KH-12-09-03', 'KH-12-01', 'KH-12-04-02'] as const;

/** A few distinct sex × age band cells, as a register or a shift log records them. */
const attendance = (random: Random): AttendanceCell[] => {
  const cells: AttendanceCell[] = [];
  for (const sex of sexes) {
    for (const ageBand of ageBands) {
      if (random.integer(3) === 0) cells.push({ sex, ageBand, count: 1 + random.integer(12) });
    }
  }
  return cells;
};

const childRefs = (random: Random, most: number): string[] => {
  const refs = new Set<string>();
  const count = random.integer(most + 1);
  while (refs.size < count) refs.add(`ch_${random.hex16()}`);
  return [...refs];
};

/** Day `revision` of the programme, from 2019-01-01. */
const dayOf = (revision: number): string => {
  const day = new Date(Date.UTC(2019, 0, 1) + revision * 86_400_000);
  return day.toISOString().slice(0, 10);
};

/** 2019-01-01T00:00:00Z: the workload's events are minted one millisecond apart from here. */
const mintedFrom = Date.UTC(2019, 0, 1);

/**
 * Event ids are uuid v7, as Lantern mints them (`defineEvent(...).toNew`, `handleCommand`): time
 * ordered, so a store's index of ids grows at its end. Random v4 ids cost Lantern's SQLite store
 * about half its batched append rate (random inserts into that index); see bench/README.md.
 */
const eventIdOf = (random: Random, sequence: number): string =>
  uuidv7({ msecs: mintedFrom + sequence, random: random.bytes(16) });

const sessionHeld = (
  random: Random,
  k: number,
  revision: number,
  staff: string,
  sequence: number,
): NewEvent => {
  const heldOn = dayOf(revision);
  const data: SessionData = {
    clubId: clubIdOf(k),
    heldOn,
    activity: random.pick(['healing-arts', 'education', 'awareness', 'play'] as const),
    attendance: attendance(random),
    attendeeRefs: childRefs(random, 4),
  };
  return {
    id: eventIdOf(random, sequence),
    type: 'ClubSessionHeld',
    data,
    metadata: {
      occurredAt: `${heldOn}T16:00:00+07:00`,
      recordedBy: staff,
      correlationId: uuid({ random: random.bytes(16) }),
      schemaVersion: eventCatalog.ClubSessionHeld.schemaVersion,
    },
  };
};

const outreachConducted = (
  random: Random,
  k: number,
  revision: number,
  staff: string,
  sequence: number,
): NewEvent => {
  const day = dayOf(revision);
  const data: OutreachData = {
    programmeId: programmeIdOf(k),
    teamId: `night-team-${1 + random.integer(3)}`,
    mode: random.pick(['night-outreach', 'street'] as const),
    area: random.pick(areas),
    shiftStart: `${day}T19:00:00+07:00`,
    shiftEnd: `${day}T23:30:00+07:00`,
    contacts: attendance(random),
    newChildRefs: childRefs(random, 2),
    leafletsDistributed: random.integer(40),
  };
  return {
    id: eventIdOf(random, sequence),
    type: 'OutreachConducted',
    data,
    metadata: {
      occurredAt: `${day}T23:30:00+07:00`,
      recordedBy: staff,
      correlationId: uuid({ random: random.bytes(16) }),
      schemaVersion: eventCatalog.OutreachConducted.schemaVersion,
    },
  };
};

/**
 * The first `count` events in global order, each with its stream: event i goes to stream
 * i mod streams, so streams interleave as field teams' records do. A prefix is the same whatever
 * `count` is, so the single-event subset is the start of the full workload.
 */
export const plannedEvents = (options: WorkloadOptions, count = options.events): PlannedAppend[] => {
  const random = randomSource(options.seed);
  const staff = Array.from({ length: options.streams }, () => `st_${random.hex16()}`);
  return Array.from({ length: count }, (_, i) => {
    const k = i % options.streams;
    const revision = Math.floor(i / options.streams);
    const recordedBy = staff[k] as string;
    const event = isClubStream(k)
      ? sessionHeld(random, k, revision, recordedBy, i)
      : outreachConducted(random, k, revision, recordedBy, i);
    return { streamId: streamIdOf(k), events: [event] };
  });
};

/** The first `count` events, one per append. */
export const singleAppends = (options: WorkloadOptions, count: number): PlannedAppend[] =>
  plannedEvents(options, Math.min(count, options.events));

/**
 * The whole workload in appends of `batchSize` consecutive events of one stream, taking the
 * streams in turn (stream 0's first batch, stream 1's first batch, …, stream 0's second batch).
 */
export const batchedAppends = (options: WorkloadOptions): PlannedAppend[] => {
  const byStream = new Map<string, NewEvent[]>();
  for (const { streamId, events } of plannedEvents(options)) {
    const stream = byStream.get(streamId) ?? [];
    stream.push(...events);
    byStream.set(streamId, stream);
  }
  const longest = Math.ceil(options.events / options.streams);
  const batches: PlannedAppend[] = [];
  // Ids are minted when a batch is made, as an application minting with Lantern does: in append order.
  const ids = randomSource(options.seed + 1);
  let sequence = 0;
  for (let from = 0; from < longest; from += options.batchSize) {
    for (const [streamId, events] of byStream) {
      const chunk = events
        .slice(from, from + options.batchSize)
        .map((event) => ({ ...event, id: eventIdOf(ids, sequence++) }));
      if (chunk.length > 0) batches.push({ streamId, events: chunk });
    }
  }
  return batches;
};

/** The fold of every event in these appends: what reading them back must give. */
export const tallyOf = (appends: readonly PlannedAppend[]): Tally => {
  const tally = emptyTally();
  for (const { events } of appends) for (const event of events) foldEvent(tally, event.type, event.data);
  return tally;
};

/** The tally a correct read of the full workload produces. */
export const expectedTally = (options: WorkloadOptions): Tally => tallyOf(plannedEvents(options));

export const sameTally = (a: Tally, b: Tally): boolean => a.events === b.events && a.people === b.people;

export const describeTally = (tally: Tally): string => `${tally.events} events, ${tally.people} people`;
