import { type CatalogEventData, type CatalogEventType, eventCatalog, type NewEvent } from '@lantern/core';
import { v4 as uuid, v7 as uuidv7 } from 'uuid';
import { emptyTally, foldEvent, type Tally } from '../workload.js';

/**
 * The projections bench's workload: what programmes really record, day after day, in the mix
 * the built-in projections read — club sessions, night outreach, children registered with their
 * consent, cases followed up, referred, placed and closed, aid, home visits, awareness sessions,
 * trainings, targets, budgets and funds — plus events no built-in projection reads (risk
 * assessments, expenditure), which a rebuild must skip. Generated from a seed, one event at a
 * time, so a 5,000,000-event log is written without ever being held in memory.
 *
 * Every programme records about `eventsPerDay` events a day from 2019-01-01; a bigger workload
 * has more programmes (one per 250,000 events), not a longer history, so months, clubs and
 * children per programme stay what one programme sees.
 */
export interface ProgrammeWorkloadOptions {
  events: number;
  seed: number;
}

/** One event and the stream it is appended to. */
export interface PlannedEvent {
  readonly streamId: string;
  readonly event: NewEvent;
}

/** What the workload holds, for the untimed checks of every subject's result. */
export interface WorkloadSummary {
  events: number;
  programmes: number;
  streams: number;
  byType: Record<string, number>;
  /** The simple fold (`foldEvent`) of every event. */
  tally: Tally;
  /** children-reached-night-outreach: contacts under 18 on night-outreach shifts. */
  nightOutreachChildContacts: number;
  /** leaflets-on-outreach: leaflets handed out on every outreach shift. */
  leafletsOnOutreach: number;
}

const eventsPerProgramme = 250_000;
const eventsPerDay = 150;
const timeZoneOffset = '+07:00';
const dayMs = 86_400_000;
const startMs = Date.UTC(2019, 0, 1);

/** mulberry32, as the stores bench uses. */
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
  const chance = (p: number): boolean => uint32() / 4294967296 < p;
  const pick = <T>(items: readonly T[]): T => items[integer(items.length)] as T;
  const bytes = (length: number): Uint8Array => {
    const result = new Uint8Array(length);
    for (let i = 0; i < length; i += 1) result[i] = uint32() & 0xff;
    return result;
  };
  const hex16 = (): string => uint32().toString(16).padStart(8, '0') + uint32().toString(16).padStart(8, '0');
  return { integer, chance, pick, bytes, hex16 };
};
type Random = ReturnType<typeof randomSource>;

const dateOf = (day: number): string => new Date(startMs + day * dayMs).toISOString().slice(0, 10);
const at = (date: string, time: string): string => `${date}T${time}${timeZoneOffset}`;

const sexes = ['female', 'male'] as const;
const countedAgeBands = ['5-11', '12-17', '18+', 'unknown'] as const;
const childAgeBands = ['0-4', '5-11', '12-17'] as const;
const concernsList = [
  'sexual-exploitation',
  'sexual-abuse',
  'trafficking',
  'physical-abuse',
  'emotional-abuse',
  'neglect',
  'begging-exploitation',
  'child-labour',
] as const;
const serviceList = [
  'shelter',
  'medical',
  'legal',
  'counselling',
  'family-tracing',
  'education',
  'food',
] as const;
const placementList = ['parent', 'kinship', 'foster', 'adoptive', 'residential', 'independent'] as const;
const caregiverOf = {
  parent: 'mother',
  kinship: 'grandparent',
  foster: 'foster-carer',
  adoptive: 'adoptive-parent',
  residential: 'residential-staff',
  independent: 'none',
} as const;
const closureReasons = [
  'goals-met',
  'goals-met',
  'goals-met',
  'transferred',
  'lost-contact',
  'aged-out',
] as const;
const aidItems = [
  { item: 'rice', unit: 'kg' },
  { item: 'soy-sauce', unit: 'bottle' },
  { item: 'fish', unit: 'can' },
  { item: 'noodles', unit: 'pack' },
  { item: 'soap', unit: 'piece' },
] as const;
const indicatorsWithTargets = [
  'active-kids-clubs',
  'children-in-clubs',
  'children-reached-night-outreach',
  'cases-disclosed',
  'children-placed-family-care',
  'households-food-aid',
] as const;

/** A case as the generator follows it through its life. */
interface OpenCase {
  caseId: string;
  childRef: string;
  referrals: { referralId: string; service: (typeof serviceList)[number] }[];
  placed: boolean;
}

interface Programme {
  readonly index: number;
  readonly id: string;
  readonly areas: readonly string[];
  readonly staff: readonly string[];
  readonly agencies: readonly string[];
  readonly donors: readonly string[];
  readonly households: readonly string[];
  /** Events waiting their turn: the launch, a year's budget and targets, clubs opened. */
  readonly queue: { streamId: string; type: CatalogEventType; data: unknown; occurredAt: string }[];
  clubs: string[];
  clubSerial: number;
  /** Recently registered children, attending clubs (the last 600). */
  children: string[];
  openCases: OpenCase[];
  /** Recently closed cases, which may be reopened (the last 200). */
  closedCases: OpenCase[];
  caseSerial: number;
  referralSerial: number;
  distributionSerial: number;
  year: number;
}

/** Weights of what a programme records on an ordinary day, per 1,000 events. */
const mix: readonly (readonly [string, number])[] = [
  ['ClubSessionHeld', 280],
  ['OutreachConducted', 130],
  ['ChildRegistered', 60],
  ['ConsentChanged', 8],
  ['WellbeingAssessed', 40],
  ['CaseDisclosed', 40],
  ['RiskAssessed', 20],
  ['CaseFollowedUp', 90],
  ['CaseReferred', 45],
  ['ServiceDelivered', 35],
  ['ChildPlacedSafely', 20],
  ['CaseClosed', 30],
  ['CaseReopened', 3],
  ['AidDistributed', 70],
  ['HomeVisitConducted', 45],
  ['AwarenessSessionHeld', 20],
  ['LiteratureDistributed', 15],
  ['StaffTrained', 10],
  ['FundsReceived', 6],
  ['ExpenditureRecorded', 30],
  ['ClubEstablished', 2],
  ['ClubClosed', 1],
];
const mixTotal = mix.reduce((sum, [, weight]) => sum + weight, 0);

const pickKind = (random: Random): string => {
  let roll = random.integer(mixTotal);
  for (const [type, weight] of mix) {
    if (roll < weight) return type;
    roll -= weight;
  }
  return 'ClubSessionHeld';
};

type Draft = { streamId: string; type: CatalogEventType; data: unknown; occurredAt: string };

const sexAgeCells = (random: Random, most: number) => {
  const cells: { sex: (typeof sexes)[number]; ageBand: (typeof countedAgeBands)[number]; count: number }[] =
    [];
  for (const sex of sexes) {
    for (const ageBand of countedAgeBands) {
      if (random.integer(3) === 0) cells.push({ sex, ageBand, count: 1 + random.integer(most) });
    }
  }
  return cells;
};

const consent = (random: Random, agencies: readonly string[]) => ({
  services: true,
  reporting: random.chance(0.85),
  tracing: random.chance(0.6),
  sharing: random.chance(0.5) ? [random.pick(agencies)] : [],
});

const newProgramme = (random: Random, index: number): Programme => {
  const id = `pp-${String(index + 1).padStart(3, '0')}`;
  const province = 10 + (index % 15);
  return {
    index,
    id,
    areas: Array.from({ length: 6 }, (_, i) => `KH-${province}-0${1 + (i % 4)}${i >= 4 ? '-01' : ''}`),
    staff: Array.from({ length: 40 }, () => `st_${random.hex16()}`),
    agencies: Array.from({ length: 8 }, () => `ag_${random.hex16()}`),
    donors: Array.from({ length: 6 }, () => `dn_${random.hex16()}`),
    households: Array.from({ length: 3000 }, () => `hh_${random.hex16()}`),
    queue: [],
    clubs: [],
    clubSerial: 0,
    children: [],
    openCases: [],
    closedCases: [],
    caseSerial: 0,
    referralSerial: 0,
    distributionSerial: 0,
    year: -1,
  };
};

/** What a programme plans at the start of each year: its budget, and targets for the year. */
const planYear = (random: Random, programme: Programme, year: number): void => {
  const stream = `programme-${programme.id}`;
  const periodStart = `${year}-01-01`;
  const periodEnd = `${year}-12-31`;
  const occurredAt = at(periodStart, '09:00:00');
  if (programme.year === -1) {
    programme.queue.push({
      streamId: stream,
      type: 'ProgrammeLaunched',
      data: {
        programmeId: programme.id,
        title: `Protecting Street Kids ${programme.index + 1}`,
        country: 'KH',
        timeZone: 'Asia/Phnom_Penh',
        plannedStart: periodStart,
        plannedEnd: `${year + 4}-12-31`,
        currency: 'USD',
      },
      occurredAt,
    });
    for (let i = 0; i < 15; i += 1) openClub(random, programme, periodStart);
  }
  programme.year = year;
  programme.queue.push({
    streamId: stream,
    type: 'BudgetApproved',
    data: {
      programmeId: programme.id,
      periodStart,
      periodEnd,
      amount: { amount: 3_000_000 + random.integer(2_000_000), currency: 'USD' },
      status: 'committed',
    },
    occurredAt,
  });
  for (const indicatorId of indicatorsWithTargets) {
    programme.queue.push({
      streamId: stream,
      type: 'TargetSet',
      data: {
        programmeId: programme.id,
        indicatorId,
        periodStart,
        periodEnd,
        value: 50 + random.integer(500),
      },
      occurredAt,
    });
  }
};

const openClub = (random: Random, programme: Programme, date: string): void => {
  programme.clubSerial += 1;
  const clubId = `${programme.id}-club-${programme.clubSerial}`;
  programme.clubs.push(clubId);
  programme.queue.push({
    streamId: `club-${clubId}`,
    type: 'ClubEstablished',
    data: {
      programmeId: programme.id,
      clubId,
      name: `Kids club ${programme.clubSerial}`,
      area: random.pick(programme.areas),
      kind: random.chance(0.8) ? 'kids-club' : 'healing-arts',
      establishedOn: date,
    },
    occurredAt: at(date, '08:00:00'),
  });
};

/** The next event an ordinary day brings, of a kind drawn from the mix. */
const ordinaryEvent = (random: Random, programme: Programme, day: number): Draft => {
  const date = dateOf(day);
  const kind = pickKind(random);
  const { id: programmeId } = programme;
  const area = random.pick(programme.areas);
  const caseEvent = kind.startsWith('Case') || kind === 'ServiceDelivered' || kind === 'ChildPlacedSafely';
  const open = programme.openCases;
  if (caseEvent && kind !== 'CaseDisclosed' && kind !== 'CaseReopened' && open.length > 0) {
    const index = random.integer(open.length);
    const c = open[index] as OpenCase;
    const streamId = `case-${c.caseId}`;
    const occurredAt = at(date, '10:30:00');
    if (kind === 'CaseFollowedUp') {
      return {
        streamId,
        type: 'CaseFollowedUp',
        data: {
          caseId: c.caseId,
          followedUpOn: date,
          kind: random.pick(['home-visit', 'phone', 'office', 'club', 'school'] as const),
          ...(c.placed ? { placementStable: random.chance(0.9) } : {}),
        },
        occurredAt,
      };
    }
    if (kind === 'CaseReferred' || (kind === 'ServiceDelivered' && c.referrals.length === 0)) {
      programme.referralSerial += 1;
      const referral = { referralId: `ref-${programme.referralSerial}`, service: random.pick(serviceList) };
      c.referrals.push(referral);
      return {
        streamId,
        type: 'CaseReferred',
        data: {
          caseId: c.caseId,
          referralId: referral.referralId,
          service: referral.service,
          toAgencyRef: random.pick(programme.agencies),
          consentBasis: random.chance(0.95)
            ? { kind: 'given' }
            : { kind: 'overridden', reason: 'imminent-danger' },
        },
        occurredAt,
      };
    }
    if (kind === 'ServiceDelivered') {
      const referral = c.referrals.shift() as OpenCase['referrals'][number];
      return {
        streamId,
        type: 'ServiceDelivered',
        data: {
          caseId: c.caseId,
          referralId: referral.referralId,
          service: referral.service,
          deliveredOn: date,
        },
        occurredAt,
      };
    }
    if (kind === 'ChildPlacedSafely' && !c.placed) {
      c.placed = true;
      const placementType = random.pick(placementList);
      return {
        streamId,
        type: 'ChildPlacedSafely',
        data: {
          caseId: c.caseId,
          childRef: c.childRef,
          placementType,
          caregiverRelation: caregiverOf[placementType],
        },
        occurredAt,
      };
    }
    // A closure, or a placement for a child already placed: the case is closed.
    open.splice(index, 1);
    programme.closedCases.push(c);
    if (programme.closedCases.length > 200) programme.closedCases.shift();
    return {
      streamId,
      type: 'CaseClosed',
      data: { caseId: c.caseId, reason: random.pick(closureReasons) },
      occurredAt,
    };
  }
  if (kind === 'CaseReopened' && programme.closedCases.length > 0) {
    const reopened = programme.closedCases.splice(
      random.integer(programme.closedCases.length),
      1,
    )[0] as OpenCase;
    open.push({ ...reopened, referrals: [], placed: false });
    return {
      streamId: `case-${reopened.caseId}`,
      type: 'CaseReopened',
      data: {
        caseId: reopened.caseId,
        reason: random.pick(['new-concern', 'placement-broke-down', 'returned'] as const),
      },
      occurredAt: at(date, '11:00:00'),
    };
  }
  if (caseEvent || kind === 'RiskAssessed') {
    if (kind === 'RiskAssessed' && open.length > 0) {
      const c = random.pick(open);
      return {
        streamId: `case-${c.caseId}`,
        type: 'RiskAssessed',
        data: {
          caseId: c.caseId,
          level: random.pick(['high', 'medium', 'low'] as const),
          concerns: [random.pick(concernsList)],
        },
        occurredAt: at(date, '12:00:00'),
      };
    }
    // A disclosure, about a child the programme knows (or one met for the first time).
    programme.caseSerial += 1;
    const caseId = `P${programme.index + 1}-${date.slice(0, 4)}-${String(programme.caseSerial).padStart(5, '0')}`;
    const childRef =
      random.chance(0.8) && programme.children.length > 0
        ? random.pick(programme.children)
        : `ch_${random.hex16()}`;
    open.push({ caseId, childRef, referrals: [], placed: false });
    if (open.length > 400) {
      // Cases nobody closes stay open in the records; the generator just stops following them.
      open.shift();
    }
    const first = random.integer(concernsList.length);
    const concerns = [concernsList[first] as string];
    if (random.chance(0.3))
      concerns.push(concernsList[(first + 1 + random.integer(4)) % concernsList.length] as string);
    return {
      streamId: `case-${caseId}`,
      type: 'CaseDisclosed',
      data: {
        programmeId,
        caseId,
        childRef,
        sex: random.pick(sexes),
        ageBand: random.pick(childAgeBands),
        area,
        concerns,
        disclosedVia: random.pick(['outreach', 'club', 'home-visit', 'referral', 'self'] as const),
        ...(random.chance(0.7)
          ? {
              perpetratorRelation: random.pick([
                'parent',
                'relative',
                'stranger',
                'trafficker',
                'unknown',
              ] as const),
            }
          : {}),
      },
      occurredAt: at(date, '14:00:00'),
    };
  }
  switch (kind) {
    case 'ClubSessionHeld': {
      const clubId = random.pick(programme.clubs);
      const attendees = new Set<string>();
      const wanted = random.integer(5);
      for (let i = 0; i < wanted * 2 && attendees.size < wanted && programme.children.length > 0; i += 1) {
        attendees.add(random.pick(programme.children));
      }
      return {
        streamId: `club-${clubId}`,
        type: 'ClubSessionHeld',
        data: {
          clubId,
          heldOn: date,
          activity: random.pick(['healing-arts', 'education', 'awareness', 'play'] as const),
          attendance: sexAgeCells(random, 12),
          ...(attendees.size > 0 || random.chance(0.5) ? { attendeeRefs: [...attendees] } : {}),
        },
        occurredAt: at(date, '16:00:00'),
      };
    }
    case 'OutreachConducted': {
      const newChildRefs = Array.from({ length: random.integer(3) }, () => `ch_${random.hex16()}`);
      return {
        streamId: `outreach-${programmeId}`,
        type: 'OutreachConducted',
        data: {
          programmeId,
          teamId: `night-team-${1 + random.integer(4)}`,
          mode: random.chance(0.75) ? 'night-outreach' : 'street',
          area,
          shiftStart: at(date, '19:00:00'),
          shiftEnd: at(date, '23:30:00'),
          contacts: sexAgeCells(random, 10),
          newChildRefs,
          leafletsDistributed: random.integer(40),
        },
        occurredAt: at(date, '23:30:00'),
      };
    }
    case 'ChildRegistered': {
      const childRef = `ch_${random.hex16()}`;
      programme.children.push(childRef);
      if (programme.children.length > 600) programme.children.shift();
      return {
        streamId: `child-${childRef}`,
        type: 'ChildRegistered',
        data: {
          programmeId,
          childRef,
          sex: random.pick(sexes),
          ageBand: random.pick(childAgeBands),
          area,
          identifiedVia: random.pick(['outreach', 'club', 'home-visit', 'referral', 'self'] as const),
          consent: consent(random, programme.agencies),
          consentGivenBy: random.chance(0.7) ? 'caregiver' : 'child',
          legalBasis: 'consent',
        },
        occurredAt: at(date, '15:00:00'),
      };
    }
    case 'ConsentChanged':
    case 'WellbeingAssessed': {
      const childRef =
        programme.children.length > 0 ? random.pick(programme.children) : `ch_${random.hex16()}`;
      if (kind === 'ConsentChanged') {
        const given = consent(random, programme.agencies);
        return {
          streamId: `child-${childRef}`,
          type: 'ConsentChanged',
          data: { childRef, consent: given, withdrawn: !given.reporting, consentGivenBy: 'caregiver' },
          occurredAt: at(date, '15:30:00'),
        };
      }
      return {
        streamId: `child-${childRef}`,
        type: 'WellbeingAssessed',
        data: {
          childRef,
          instrument: 'who-5',
          score: 5 + random.integer(20),
          kind: random.chance(0.4) ? 'initial' : 'follow-up',
        },
        occurredAt: at(date, '13:00:00'),
      };
    }
    case 'AidDistributed': {
      const count = 1 + random.integer(3);
      const first = random.integer(aidItems.length);
      programme.distributionSerial += 1;
      return {
        streamId: `aid-${programmeId}`,
        type: 'AidDistributed',
        data: {
          programmeId,
          distributionId: `dist-${Math.ceil(programme.distributionSerial / 40)}`,
          area,
          householdRef: random.pick(programme.households),
          items: Array.from({ length: count }, (_, i) => ({
            ...(aidItems[(first + i) % aidItems.length] as (typeof aidItems)[number]),
            quantity: 1 + random.integer(25),
          })),
          context: random.pick(['covid-relief', 'club', 'emergency'] as const),
        },
        occurredAt: at(date, '10:00:00'),
      };
    }
    case 'HomeVisitConducted':
      return {
        streamId: `outreach-${programmeId}`,
        type: 'HomeVisitConducted',
        data: {
          programmeId,
          householdRef: random.pick(programme.households),
          childRefs: programme.children.length > 0 ? [random.pick(programme.children)] : [],
          reason: random.chance(0.5) ? 'club-substitute' : 'case-follow-up',
          area,
        },
        occurredAt: at(date, '11:00:00'),
      };
    case 'AwarenessSessionHeld':
      return {
        streamId: `outreach-${programmeId}`,
        type: 'AwarenessSessionHeld',
        data: {
          programmeId,
          audience: random.pick(['parents', 'community', 'children'] as const),
          topic: random.pick(['trafficking-law', 'hygiene', 'child-safety', 'parenting'] as const),
          participants: [
            { sex: 'female', count: 1 + random.integer(30) },
            { sex: 'male', count: random.integer(20) },
          ],
          area,
        },
        occurredAt: at(date, '09:30:00'),
      };
    case 'LiteratureDistributed':
      return {
        streamId: `outreach-${programmeId}`,
        type: 'LiteratureDistributed',
        data: {
          programmeId,
          material: random.pick(['anti-trafficking-leaflet', 'hygiene-guide', 'child-rights'] as const),
          quantity: 10 + random.integer(200),
          audience: random.pick(['parents', 'community', 'children'] as const),
          area,
        },
        occurredAt: at(date, '09:00:00'),
      };
    case 'StaffTrained':
      return {
        streamId: `training-${programmeId}`,
        type: 'StaffTrained',
        data: {
          programmeId,
          staffRef: random.pick(programme.staff),
          course: random.pick([
            'healing-arts',
            'child-safeguarding',
            'trauma-informed-care',
            'first-aid',
          ] as const),
          hours: 2 + random.integer(30),
        },
        occurredAt: at(date, '17:00:00'),
      };
    case 'FundsReceived':
      return {
        streamId: `programme-${programmeId}`,
        type: 'FundsReceived',
        data: {
          programmeId,
          amount: { amount: 100_000 + random.integer(1_000_000), currency: 'USD' },
          receivedOn: date,
          donorRef: random.pick(programme.donors),
          kind: random.pick(['pledge', 'commitment', 'funds', 'funds'] as const),
        },
        occurredAt: at(date, '09:00:00'),
      };
    case 'ExpenditureRecorded':
      return {
        streamId: `programme-${programmeId}`,
        type: 'ExpenditureRecorded',
        data: {
          programmeId,
          amount: { amount: 1_000 + random.integer(100_000), currency: 'USD' },
          spentOn: date,
          category: random.pick(['staff', 'activities', 'aid', 'transport', 'premises'] as const),
        },
        occurredAt: at(date, '18:00:00'),
      };
    case 'ClubClosed': {
      if (programme.clubs.length > 10) {
        const clubId = programme.clubs.splice(random.integer(programme.clubs.length), 1)[0] as string;
        return {
          streamId: `club-${clubId}`,
          type: 'ClubClosed',
          data: { clubId, reason: random.pick(['premises', 'staffing', 'funding', 'merged'] as const) },
          occurredAt: at(date, '08:30:00'),
        };
      }
      openClub(random, programme, date);
      return programme.queue.shift() as Draft;
    }
    default:
      openClub(random, programme, date);
      return programme.queue.shift() as Draft;
  }
};

/** Every event of the workload, in global order, each with its stream; generated lazily. */
export function* programmeEvents(options: ProgrammeWorkloadOptions): Generator<PlannedEvent> {
  const random = randomSource(options.seed);
  const programmes = Array.from({ length: programmeCount(options.events) }, (_, i) =>
    newProgramme(random, i),
  );
  const perDay = eventsPerDay * programmes.length;
  for (let i = 0; i < options.events; i += 1) {
    const programme = programmes[i % programmes.length] as Programme;
    const day = Math.floor(i / perDay);
    const year = Number(dateOf(day).slice(0, 4));
    if (year !== programme.year) planYear(random, programme, year);
    const draft = programme.queue.shift() ?? ordinaryEvent(random, programme, day);
    const { schemaVersion } = eventCatalog[draft.type];
    const event: NewEvent = {
      // Time-ordered ids, as Lantern mints them: one millisecond apart from the programme's start.
      id: uuidv7({ msecs: startMs + i, random: random.bytes(16) }),
      type: draft.type,
      data: draft.data,
      metadata: {
        occurredAt: draft.occurredAt,
        recordedBy: random.pick(programme.staff),
        correlationId: uuid({ random: random.bytes(16) }),
        schemaVersion,
      },
    };
    yield { streamId: draft.streamId, event };
  }
}

export const programmeCount = (events: number): number => Math.max(1, Math.ceil(events / eventsPerProgramme));

/** Consecutive events in chunks of `size`, for appending and validating a big workload piece by piece. */
export function* chunksOf(events: Iterable<PlannedEvent>, size: number): Generator<PlannedEvent[]> {
  let chunk: PlannedEvent[] = [];
  for (const planned of events) {
    chunk.push(planned);
    if (chunk.length === size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

type OutreachData = CatalogEventData<'OutreachConducted'>;

/** Adds one event to the summary. */
export const summarise = (
  summary: WorkloadSummary,
  { streamId, event }: PlannedEvent,
  streams: Set<string>,
): void => {
  summary.events += 1;
  summary.byType[event.type] = (summary.byType[event.type] ?? 0) + 1;
  foldEvent(summary.tally, event.type, event.data);
  if (!streams.has(streamId)) {
    streams.add(streamId);
    summary.streams += 1;
  }
  if (event.type === 'OutreachConducted') {
    const data = event.data as OutreachData;
    summary.leafletsOnOutreach += data.leafletsDistributed;
    if (data.mode === 'night-outreach') {
      for (const cell of data.contacts)
        if (cell.ageBand !== '18+') summary.nightOutreachChildContacts += cell.count;
    }
  }
};

export const emptySummary = (events: number): WorkloadSummary => ({
  events: 0,
  programmes: programmeCount(events),
  streams: 0,
  byType: {},
  tally: emptyTally(),
  nightOutreachChildContacts: 0,
  leafletsOnOutreach: 0,
});

/** The summary of the whole workload (generates it once more, holding only the stream names). */
export const summaryOf = (options: ProgrammeWorkloadOptions): WorkloadSummary => {
  const summary = emptySummary(options.events);
  const streams = new Set<string>();
  for (const planned of programmeEvents(options)) summarise(summary, planned, streams);
  return summary;
};
