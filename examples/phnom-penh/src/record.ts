import {
  type AgeBand,
  addDays,
  aidDecider,
  type CatalogEventData,
  type Command,
  caseDecider,
  childDecider,
  clubDecider,
  type Decider,
  type DomainEvent,
  derivePseudonym,
  type EventStore,
  handleCommand,
  outreachDecider,
  type Principal,
  type PseudonymKind,
  programmeDecider,
  type SexAgeCounts,
  trainingDecider,
} from '@lantern/core';
import { v5 as uuidv5 } from 'uuid';
import { activeKidsClubs, kidsClubsEstablished } from './indicators.js';
import {
  areas,
  budgets,
  clubsSuspendedOn,
  homeVisitsRestartedOn,
  phnomPenh,
  programmeWindow,
  reportedFigures,
} from './programme.js';
import { type Random, seededRandom } from './random.js';

/**
 * Records the programme as events, command by command, through the deciders: every rule of
 * the domain is checked on the way in. Each command has a stable id, so recording into a store
 * that already holds the programme writes nothing twice. A few disclosures carry a narrative, a
 * protected field: record through `createProtectedEventStore`, which seals it (a plain store
 * refuses the plaintext).
 */

const COMMAND_NAMESPACE = '6f1f8a52-0d5e-4c38-9a61-3b7e2f1c9d40';
/** Example secret for deriving pseudonyms. A real programme keeps its own secret out of the code. */
const EXAMPLE_SECRET = 'lantern-example-phnom-penh-not-a-real-secret';

export interface RecordResult {
  /** Commands sent. */
  commands: number;
  /** Events newly written (0 when the store already held the programme). */
  written: number;
}

export interface RecordOptions {
  /** Called after every command with the number sent so far. */
  onProgress?: (commandsSent: number) => void;
}

const ref = (kind: PseudonymKind, localReference: string): string =>
  derivePseudonym(kind, localReference, EXAMPLE_SECRET);

const staffRefs = Array.from({ length: 8 }, (_, i) => ref('staff', `staff-${i + 1}`));
/** The pseudonym of staff member `i` (of eight). */
const staff = (i: number): string => staffRefs[i % staffRefs.length] ?? ref('staff', 'staff-1');
const donors = [ref('donor', 'donor-a'), ref('donor', 'donor-b'), ref('donor', 'donor-c')];

/** Who reads the internal figures the job prints: the programme's analyst, by a staff pseudonym. */
export const programmeAnalyst: Principal = {
  id: ref('staff', 'analyst'),
  role: 'analyst',
  scope: { kind: 'programme' },
};

/** The programme's donor, who is given released figures only. */
export const programmeDonor: Principal = { id: ref('donor', 'funder'), role: 'donor' };

/**
 * What a few disclosures record as their narrative: a protected field, sealed with the child's
 * key before it is stored. Written generically on purpose: an example never holds what a child said.
 */
export const disclosureNarratives = {
  club: 'Disclosed at the kids’ club; details in the paper file.',
  nightOutreach: 'Disclosed during night outreach; details in the paper file.',
  outreach: 'Disclosed to the outreach team; details in the paper file.',
} as const;
const agencies = {
  antiTraffickingPolice: ref('agency', 'anti-trafficking-police'),
  shelter: ref('agency', 'partner-shelter'),
  clinic: ref('agency', 'community-clinic'),
  counselling: ref('agency', 'counselling-service'),
  legalAid: ref('agency', 'legal-aid'),
};

/** Calendar dates from `start` to `end` inclusive. */
const datesBetween = (start: string, end: string): string[] => {
  const dates: string[] = [];
  for (let d = start; d <= end; d = addDays(d, 1)) dates.push(d);
  return dates;
};
/** 0 = Sunday … 6 = Saturday. */
const weekday = (date: string): number => new Date(`${date}T00:00:00Z`).getUTCDay();
const at = (date: string, time: string): string => `${date}T${time}:00+07:00`;

type Disclosure = CatalogEventData<'CaseDisclosed'>;
type Referral = CatalogEventData<'CaseReferred'>;
type Placement = CatalogEventData<'ChildPlacedSafely'>;

const childAgeBands: readonly AgeBand[] = ['5-11', '12-17'];

const randomCounts = (random: Random, total: number, bands: readonly AgeBand[]): SexAgeCounts => {
  const cells = new Map<string, number>();
  for (let i = 0; i < total; i++) {
    const key = `${random.pick(['female', 'male'] as const)}|${random.pick(bands)}`;
    cells.set(key, (cells.get(key) ?? 0) + 1);
  }
  return [...cells.entries()].map(([key, count]) => {
    const [sex, ageBand] = key.split('|') as ['female' | 'male', AgeBand];
    return { sex, ageBand, count };
  });
};

export const recordPhnomPenh = async (
  store: EventStore,
  options: RecordOptions = {},
): Promise<RecordResult> => {
  const random = seededRandom(2018_12_01);
  const result: RecordResult = { commands: 0, written: 0 };

  const send = async <TCommand extends Command, TState, TEvent extends DomainEvent>(
    streamId: string,
    decider: Decider<TCommand, TState, TEvent>,
    key: string,
    command: Omit<TCommand, 'metadata'> & { occurredAt: string; by?: string | undefined },
  ): Promise<void> => {
    const { occurredAt, by, ...rest } = command;
    const full = {
      ...rest,
      metadata: {
        occurredAt,
        recordedBy: by ?? staff(0),
        commandId: uuidv5(`${phnomPenh.programmeId}/${key}`, COMMAND_NAMESPACE),
      },
    } as unknown as TCommand;
    const outcome = await handleCommand({ store, decider, streamId, command: full });
    result.commands += 1;
    if (outcome.written) result.written += outcome.events.length;
    options.onProgress?.(result.commands);
  };

  const programmeId = phnomPenh.programmeId;
  const programmeStream = `programme-${programmeId}`;
  const clubs = clubDecider(programmeWindow);
  const cases = caseDecider(programmeWindow);
  const children = childDecider(programmeWindow);
  const outreach = outreachDecider(programmeWindow);
  const aid = aidDecider(programmeWindow);
  const training = trainingDecider(programmeWindow);
  const outreachStream = `outreach-${programmeId}`;
  const aidStream = `aid-${programmeId}`;
  const trainingStream = `training-${programmeId}`;

  // ---- The programme, its results framework and its money ----------------------------------
  await send(programmeStream, programmeDecider, 'launch', {
    type: 'LaunchProgramme',
    occurredAt: at('2018-12-01', '09:00'),
    data: { ...phnomPenh },
  });
  const objectives = [
    {
      objectiveId: 'children-protected',
      level: 'impact',
      title: 'Children at risk in Phnom Penh are protected from sexual exploitation and trafficking',
    },
    {
      objectiveId: 'abuse-found-and-answered',
      level: 'outcome',
      parentId: 'children-protected',
      title: 'Abuse is disclosed, followed up and children are placed safely',
    },
    {
      objectiveId: 'night-outreach',
      level: 'output',
      parentId: 'abuse-found-and-answered',
      title: 'Night outreach teams in the red-light district',
    },
    {
      objectiveId: 'kids-clubs',
      level: 'output',
      parentId: 'abuse-found-and-answered',
      title: "65 kids' clubs in Stung Mean Chey and on the riverfront",
    },
    {
      objectiveId: 'healing-arts',
      level: 'output',
      parentId: 'abuse-found-and-answered',
      title: 'A Healing Arts programme',
    },
    {
      objectiveId: 'covid-response',
      level: 'output',
      parentId: 'abuse-found-and-answered',
      title: 'COVID-19 response: home visits, food and facts',
    },
  ] as const;
  for (const objective of objectives) {
    await send(programmeStream, programmeDecider, `objective/${objective.objectiveId}`, {
      type: 'DefineObjective',
      occurredAt: at('2018-12-01', '10:00'),
      data: { programmeId, ...objective },
    });
  }
  await send(programmeStream, programmeDecider, `indicator/${kidsClubsEstablished.id}`, {
    type: 'DefineIndicator',
    occurredAt: at('2018-12-01', '10:30'),
    data: {
      programmeId,
      indicatorId: kidsClubsEstablished.id,
      objectiveId: 'kids-clubs',
      title: kidsClubsEstablished.title,
      measure: kidsClubsEstablished.measure,
      ascending: kidsClubsEstablished.ascending,
      definition: kidsClubsEstablished.definition,
    },
  });
  await send(programmeStream, programmeDecider, 'target/kids-clubs-established', {
    type: 'SetTarget',
    occurredAt: at('2018-12-01', '10:45'),
    data: {
      programmeId,
      indicatorId: 'kids-clubs-established',
      periodStart: phnomPenh.plannedStart,
      periodEnd: phnomPenh.plannedEnd,
      value: reportedFigures.kidsClubs,
      baseline: 0,
    },
  });
  // The built-in "active kids' clubs", adopted with the same 65 as its target: all of them open.
  await send(programmeStream, programmeDecider, `indicator/${activeKidsClubs.id}`, {
    type: 'DefineIndicator',
    occurredAt: at('2018-12-01', '10:48'),
    data: {
      programmeId,
      indicatorId: activeKidsClubs.id,
      objectiveId: 'kids-clubs',
      title: activeKidsClubs.title,
      measure: activeKidsClubs.measure,
      ascending: activeKidsClubs.ascending,
      definition: activeKidsClubs.definition,
    },
  });
  await send(programmeStream, programmeDecider, 'target/active-kids-clubs', {
    type: 'SetTarget',
    occurredAt: at('2018-12-01', '10:50'),
    data: {
      programmeId,
      indicatorId: 'active-kids-clubs',
      periodStart: phnomPenh.plannedStart,
      periodEnd: phnomPenh.plannedEnd,
      value: reportedFigures.kidsClubs,
      baseline: 0,
    },
  });
  for (const budget of budgets) {
    await send(programmeStream, programmeDecider, `budget/${budget.periodStart}`, {
      type: 'ApproveBudget',
      occurredAt: at(budget.periodStart, '11:00'),
      data: {
        programmeId,
        periodStart: budget.periodStart,
        periodEnd: budget.periodEnd,
        amount: { amount: budget.amount, currency: 'USD' },
        status: 'committed',
      },
    });
  }
  // Year 1 fully funded; year 2 had $18,200 in hand when the update asked for the other $19,800.
  const gifts = [
    { on: '2018-12-10', donor: 0, cents: 2_000_000 },
    { on: '2019-03-01', donor: 1, cents: 1_500_000 },
    { on: '2019-08-01', donor: 0, cents: 1_000_000 },
    { on: '2019-12-16', donor: 0, cents: 1_000_000 },
    { on: '2020-04-20', donor: 2, cents: 500_000 },
    { on: '2020-07-01', donor: 1, cents: 320_000 },
  ];
  for (const gift of gifts) {
    await send(programmeStream, programmeDecider, `funds/${gift.on}`, {
      type: 'ReceiveFunds',
      occurredAt: at(gift.on, '12:00'),
      data: {
        programmeId,
        amount: { amount: gift.cents, currency: 'USD' },
        receivedOn: gift.on,
        donorRef: donors[gift.donor] ?? '',
        kind: 'funds',
      },
    });
  }
  for (const month of datesBetween('2018-12-01', '2020-07-31').filter((d) => d.endsWith('-28'))) {
    const spent = [
      { category: 'staff', cents: 180_000 + random.int(0, 20_000) },
      { category: 'activities', cents: 60_000 + random.int(0, 30_000) },
      {
        category: month >= homeVisitsRestartedOn ? 'aid' : 'transport',
        cents: 20_000 + random.int(0, 20_000),
      },
    ] as const;
    for (const item of spent) {
      await send(programmeStream, programmeDecider, `spent/${month}/${item.category}`, {
        type: 'RecordExpenditure',
        occurredAt: at(month, '15:00'),
        data: {
          programmeId,
          amount: { amount: item.cents, currency: 'USD' },
          spentOn: month,
          category: item.category,
        },
      });
    }
  }

  // ---- Staff trained for the Healing Arts programme and in safeguarding ---------------------
  for (const [i, staffRef] of staffRefs.entries()) {
    await send(trainingStream, training, `training/safeguarding/${i}`, {
      type: 'TrainStaff',
      occurredAt: at('2019-01-14', '09:00'),
      data: { programmeId, staffRef, course: 'child-safeguarding', hours: 16 },
    });
    if (i < 5) {
      await send(trainingStream, training, `training/healing-arts/${i}`, {
        type: 'TrainStaff',
        occurredAt: at('2019-03-18', '09:00'),
        data: { programmeId, staffRef, course: 'healing-arts', hours: 40 },
      });
    }
  }

  // ---- 65 kids' clubs and the Healing Arts centre, with weekly sessions until mid-March 2020 ---
  const lastSessionDay = addDays(clubsSuspendedOn, -1);
  const clubPlan: CatalogEventData<'ClubEstablished'>[] = Array.from(
    { length: reportedFigures.kidsClubs },
    (_, i) => {
      const inStungMeanChey = i % 3 !== 0;
      // 40 clubs in the first year, the other 25 between December 2019 and February 2020.
      const establishedOn =
        i < 40
          ? addDays('2019-01-07', Math.floor((i * 320) / 40))
          : addDays('2019-12-02', Math.floor(((i - 40) * 85) / 25));
      const communes = inStungMeanChey ? areas.stungMeanCheyCommunes : areas.riverfrontCommunes;
      return {
        programmeId,
        clubId: `club-${String(i + 1).padStart(2, '0')}`,
        name: `${inStungMeanChey ? 'Stung Mean Chey' : 'Riverfront'} Kids' Club ${i + 1}`,
        area: communes[i % communes.length] ?? areas.phnomPenh,
        kind: 'kids-club',
        establishedOn,
      };
    },
  );
  clubPlan.push({
    programmeId,
    clubId: 'healing-arts-centre',
    name: 'Healing Arts Centre, Stung Mean Chey',
    area: areas.stungMeanCheyCommunes[0],
    kind: 'healing-arts',
    establishedOn: '2019-04-01',
  });
  for (const club of clubPlan) {
    const stream = `club-${club.clubId}`;
    await send(stream, clubs, `${stream}/established`, {
      type: 'EstablishClub',
      occurredAt: at(club.establishedOn, '15:00'),
      data: club,
    });
    const sessionDay = 1 + (Number.parseInt(club.clubId.replace(/\D/g, '') || '3', 10) % 5);
    for (const heldOn of datesBetween(club.establishedOn, lastSessionDay)) {
      if (weekday(heldOn) !== sessionDay) continue;
      const healingArts = club.kind === 'healing-arts';
      await send(stream, clubs, `${stream}/session/${heldOn}`, {
        type: 'HoldClubSession',
        occurredAt: at(heldOn, '16:00'),
        by: staff(1 + (sessionDay % 4)),
        data: {
          clubId: club.clubId,
          heldOn,
          activity: healingArts ? 'healing-arts' : random.pick(['play', 'education', 'awareness'] as const),
          attendance: randomCounts(random, random.int(8, 30), childAgeBands),
        },
      });
    }
    await send(stream, clubs, `${stream}/suspended`, {
      type: 'SuspendClub',
      occurredAt: at(clubsSuspendedOn, '09:00'),
      data: { clubId: club.clubId, reason: 'covid-19-restrictions' },
    });
  }

  // ---- Night outreach in the red-light district, three evenings a week -----------------------
  let streetChildren = 0;
  for (const night of datesBetween('2018-12-03', lastSessionDay)) {
    if (![1, 3, 5].includes(weekday(night))) continue;
    const childrenMet = random.int(6, 22);
    const newToday = random.int(0, 2);
    const newChildRefs = Array.from({ length: newToday }, () => ref('child', `street-${++streetChildren}`));
    await send(outreachStream, outreach, `outreach/night/${night}`, {
      type: 'ConductOutreach',
      occurredAt: at(night, '19:00'),
      by: staff(random.int(0, 3)),
      data: {
        programmeId,
        teamId: 'night-team',
        mode: 'night-outreach',
        area: areas.redLightDistrict,
        shiftStart: at(night, '19:00'),
        shiftEnd: at(night, '23:30'),
        contacts: [
          ...randomCounts(random, childrenMet, childAgeBands),
          { sex: 'female', ageBand: '18+', count: random.int(1, 6) },
        ],
        newChildRefs,
        leafletsDistributed: random.int(10, 40),
      },
    });
  }

  // ---- Parents' campaigns on trafficking law, monthly in each area, before the pandemic -----
  for (const month of datesBetween('2019-01-01', '2020-02-29').filter((d) => d.endsWith('-20'))) {
    for (const area of [areas.stungMeanChey, areas.riverfront]) {
      await send(outreachStream, outreach, `awareness/trafficking-law/${month}/${area}`, {
        type: 'HoldAwarenessSession',
        occurredAt: at(month, '17:30'),
        data: {
          programmeId,
          audience: 'parents',
          topic: 'trafficking-law',
          participants: [
            { sex: 'female', count: random.int(10, 30) },
            { sex: 'male', count: random.int(4, 15) },
          ],
          area,
        },
      });
    }
  }

  // ---- Cases found before the pandemic (from the reports' stories; pseudonyms only) ---------
  let caseNumber = 0;
  const openCase = async (input: {
    on: string;
    childKey: string;
    sex: 'female' | 'male';
    ageBand: AgeBand;
    area: string;
    concerns: Disclosure['concerns'];
    via: Disclosure['disclosedVia'];
    perpetrator?: Disclosure['perpetratorRelation'];
    /** Protected: sealed with the child's key on the way in. */
    narrative?: string;
    followUps?: readonly number[];
    referrals?: readonly { service: Referral['service']; agency: string; deliveredAfter?: number }[];
    placement?: Pick<Placement, 'placementType' | 'caregiverRelation'> & { afterDays: number };
    closeAfter?: number;
  }): Promise<void> => {
    caseNumber += 1;
    const year = input.on.slice(0, 4);
    const caseId = `PP-${year}-${String(caseNumber).padStart(3, '0')}`;
    const childRef = ref('child', input.childKey);
    const caseStream = `case-${caseId}`;
    await send(`child-${childRef}`, children, `child/${input.childKey}/registered`, {
      type: 'RegisterChild',
      occurredAt: at(input.on, '10:00'),
      data: {
        programmeId,
        childRef,
        sex: input.sex,
        ageBand: input.ageBand,
        area: input.area,
        identifiedVia: input.via,
        consent: { services: true, reporting: true, tracing: true, sharing: [] },
        consentGivenBy: 'caregiver',
        legalBasis: 'consent',
      },
    });
    await send(caseStream, cases, `${caseStream}/disclosed`, {
      type: 'DiscloseCase',
      occurredAt: at(input.on, '11:00'),
      data: {
        programmeId,
        caseId,
        childRef,
        sex: input.sex,
        ageBand: input.ageBand,
        area: input.area,
        concerns: input.concerns,
        disclosedVia: input.via,
        ...(input.perpetrator ? { perpetratorRelation: input.perpetrator } : {}),
        ...(input.narrative ? { narrative: input.narrative } : {}),
      },
    });
    await send(caseStream, cases, `${caseStream}/risk`, {
      type: 'AssessRisk',
      occurredAt: at(addDays(input.on, 1), '09:00'),
      data: {
        caseId,
        level: input.concerns.includes('trafficking') ? 'high' : 'medium',
        concerns: input.concerns,
      },
    });
    for (const [i, referral] of (input.referrals ?? []).entries()) {
      const referralId = `ref-${i + 1}`;
      await send(caseStream, cases, `${caseStream}/referral/${referralId}`, {
        type: 'ReferCase',
        occurredAt: at(addDays(input.on, 1), '14:00'),
        data: {
          caseId,
          referralId,
          service: referral.service,
          toAgencyRef: referral.agency,
          consentBasis: { kind: 'given' },
        },
      });
      if (referral.deliveredAfter !== undefined) {
        const deliveredOn = addDays(input.on, referral.deliveredAfter);
        await send(caseStream, cases, `${caseStream}/service/${referralId}`, {
          type: 'DeliverService',
          occurredAt: at(deliveredOn, '15:00'),
          data: { caseId, referralId, service: referral.service, deliveredOn },
        });
      }
    }
    if (input.placement) {
      await send(caseStream, cases, `${caseStream}/placed`, {
        type: 'PlaceChildSafely',
        occurredAt: at(addDays(input.on, input.placement.afterDays), '10:00'),
        data: {
          caseId,
          childRef,
          placementType: input.placement.placementType,
          caregiverRelation: input.placement.caregiverRelation,
        },
      });
    }
    for (const days of input.followUps ?? []) {
      const followedUpOn = addDays(input.on, days);
      if (followedUpOn > phnomPenh.plannedEnd) continue;
      await send(caseStream, cases, `${caseStream}/follow-up/${days}`, {
        type: 'FollowUpCase',
        occurredAt: at(followedUpOn, '10:00'),
        data: {
          caseId,
          followedUpOn,
          kind: 'home-visit',
          ...(input.placement && days > input.placement.afterDays ? { placementStable: true } : {}),
        },
      });
    }
    if (input.closeAfter !== undefined && addDays(input.on, input.closeAfter) <= phnomPenh.plannedEnd) {
      await send(caseStream, cases, `${caseStream}/closed`, {
        type: 'CloseCase',
        occurredAt: at(addDays(input.on, input.closeAfter), '10:00'),
        data: { caseId, reason: 'goals-met' },
      });
    }
  };

  // A man grooming two boys at a club; a woman with five children begging for her.
  const club = areas.riverfrontCommunes[0];
  for (const boy of [1, 2]) {
    await openCase({
      on: '2019-09-12',
      childKey: `grooming-boy-${boy}`,
      sex: 'male',
      ageBand: '5-11',
      area: club,
      concerns: ['sexual-exploitation', 'exposure-to-pornography'],
      via: 'club',
      perpetrator: 'stranger',
      narrative: disclosureNarratives.club,
      referrals: [{ service: 'police', agency: agencies.antiTraffickingPolice, deliveredAfter: 3 }],
      placement: { afterDays: 21, placementType: 'kinship', caregiverRelation: 'grandparent' },
      followUps: [5, 30, 90, 180],
      closeAfter: 240,
    });
  }
  for (let child = 1; child <= 5; child++) {
    await openCase({
      on: '2019-09-13',
      childKey: `begging-ring-child-${child}`,
      sex: child <= 3 ? 'female' : 'male',
      ageBand: child <= 2 ? '12-17' : '5-11',
      area: club,
      concerns: ['trafficking', 'begging-exploitation'],
      via: 'club',
      perpetrator: 'trafficker',
      referrals: [
        { service: 'police', agency: agencies.antiTraffickingPolice, deliveredAfter: 2 },
        { service: 'shelter', agency: agencies.shelter, deliveredAfter: 4 },
      ],
      placement: { afterDays: 4, placementType: 'residential', caregiverRelation: 'residential-staff' },
      followUps: [6, 30, 90, 180, 365],
    });
  }
  // A young mother on the streets asked for a safe and loving family for her son.
  await openCase({
    on: '2019-06-04',
    childKey: 'mother-asked-for-family',
    sex: 'male',
    ageBand: '0-4',
    area: areas.redLightDistrict,
    concerns: ['trafficking', 'neglect'],
    via: 'self',
    referrals: [{ service: 'family-tracing', agency: agencies.shelter, deliveredAfter: 10 }],
    placement: { afterDays: 45, placementType: 'foster', caregiverRelation: 'foster-carer' },
    followUps: [7, 60, 120, 240],
    closeAfter: 300,
  });
  // A nine-year-old girl abused at the bar where her mother worked; now in counselling.
  await openCase({
    on: '2020-01-22',
    childKey: 'bar-girl-9',
    sex: 'female',
    ageBand: '5-11',
    area: areas.redLightDistrict,
    concerns: ['sexual-abuse'],
    via: 'outreach',
    perpetrator: 'person-in-authority',
    narrative: disclosureNarratives.nightOutreach,
    referrals: [
      { service: 'counselling', agency: agencies.counselling, deliveredAfter: 5 },
      { service: 'legal', agency: agencies.legalAid },
    ],
    followUps: [3, 30, 90, 180],
  });
  // Trafficked boys begging for their captor, and an eight-year-old girl removed from him.
  for (let boy = 1; boy <= 3; boy++) {
    await openCase({
      on: '2020-02-10',
      childKey: `captor-boy-${boy}`,
      sex: 'male',
      ageBand: boy === 1 ? '12-17' : '5-11',
      area: areas.riverfrontCommunes[1],
      concerns: ['trafficking', 'begging-exploitation', 'sexual-abuse', 'exposure-to-pornography'],
      via: 'outreach',
      perpetrator: 'trafficker',
      referrals: [
        { service: 'police', agency: agencies.antiTraffickingPolice, deliveredAfter: 1 },
        { service: 'shelter', agency: agencies.shelter, deliveredAfter: 2 },
        { service: 'medical', agency: agencies.clinic, deliveredAfter: 3 },
      ],
      placement: { afterDays: 2, placementType: 'residential', caregiverRelation: 'residential-staff' },
      followUps: [4, 30, 120, 240],
    });
  }
  await openCase({
    on: '2020-02-10',
    childKey: 'captor-girl-8',
    sex: 'female',
    ageBand: '5-11',
    area: areas.riverfrontCommunes[1],
    concerns: ['trafficking', 'begging-exploitation'],
    via: 'outreach',
    perpetrator: 'trafficker',
    narrative: disclosureNarratives.outreach,
    referrals: [{ service: 'shelter', agency: agencies.shelter, deliveredAfter: 1 }],
    placement: { afterDays: 1, placementType: 'residential', caregiverRelation: 'residential-staff' },
    followUps: [3, 30, 120, 240],
  });

  // ---- COVID-19: home visits, food and facts, from June 2020 ---------------------------------
  const households = Array.from({ length: 60 }, (_, i) => ({
    householdRef: ref('household', `household-${i + 1}`),
    area: i % 3 === 0 ? areas.riverfrontCommunes[i % 2] : areas.stungMeanCheyCommunes[i % 4],
    children: Array.from({ length: 1 + (i % 3) }, (_, c) =>
      ref('child', `household-${i + 1}-child-${c + 1}`),
    ),
  }));
  const food = [
    { item: 'rice', unit: 'kg', quantity: 10 },
    { item: 'soy-sauce', unit: 'bottle', quantity: 1 },
    { item: 'fish', unit: 'can', quantity: 4 },
    { item: 'noodles', unit: 'pack', quantity: 10 },
    { item: 'soup', unit: 'pack', quantity: 4 },
  ] as const;
  let visitNumber = 0;
  let distribution = 0;
  for (const day of datesBetween(homeVisitsRestartedOn, '2020-11-27')) {
    if (weekday(day) === 0 || weekday(day) === 6) continue;
    for (let v = 0; v < 3; v++) {
      const household = households[visitNumber++ % households.length];
      if (!household?.area) continue;
      await send(outreachStream, outreach, `home-visit/${day}/${v}`, {
        type: 'ConductHomeVisit',
        occurredAt: at(day, `${String(9 + v * 2).padStart(2, '0')}:00`),
        by: staff(4 + v),
        data: {
          programmeId,
          householdRef: household.householdRef,
          childRefs: household.children,
          reason: 'club-substitute',
          area: household.area,
        },
      });
      if (day <= '2020-08-31') {
        distribution += 1;
        await send(aidStream, aid, `aid/${day}/${v}`, {
          type: 'DistributeAid',
          occurredAt: at(day, `${String(9 + v * 2).padStart(2, '0')}:30`),
          by: staff(4 + v),
          data: {
            programmeId,
            distributionId: `food-${String(distribution).padStart(4, '0')}`,
            area: household.area,
            householdRef: household.householdRef,
            items: food.map((f) => ({ ...f })),
            context: 'covid-relief',
          },
        });
      }
    }
    if (weekday(day) === 3) {
      for (const topic of ['covid-19-facts', 'hygiene'] as const) {
        await send(outreachStream, outreach, `awareness/${topic}/${day}`, {
          type: 'HoldAwarenessSession',
          occurredAt: at(day, topic === 'hygiene' ? '14:00' : '15:00'),
          data: {
            programmeId,
            audience: 'community',
            topic,
            participants: [
              { sex: 'female', count: random.int(6, 20) },
              { sex: 'male', count: random.int(3, 12) },
            ],
            area: areas.stungMeanChey,
          },
        });
      }
      await send(outreachStream, outreach, `literature/${day}`, {
        type: 'DistributeLiterature',
        occurredAt: at(day, '16:00'),
        data: {
          programmeId,
          material: 'anti-trafficking-leaflet',
          quantity: random.int(30, 80),
          audience: 'community',
          area: areas.stungMeanChey,
        },
      });
    }
  }

  // Fourteen new cases in the first three weeks back in the communities, then a few more.
  const covidConcerns: Disclosure['concerns'][] = [
    ['sexual-abuse'],
    ['physical-abuse', 'neglect'],
    ['neglect'],
    ['sexual-exploitation'],
    ['trafficking', 'child-labour'],
    ['emotional-abuse', 'physical-abuse'],
    ['begging-exploitation'],
  ];
  const newCaseDays = [1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 15, 16, 17, 19];
  for (const [i, offset] of [...newCaseDays, 30, 44, 61, 95].entries()) {
    const household = households[(i * 7) % households.length];
    await openCase({
      on: addDays(homeVisitsRestartedOn, offset),
      childKey: household ? `${household.householdRef}-case-${i + 1}` : `covid-case-${i + 1}`,
      sex: i % 2 === 0 ? 'female' : 'male',
      ageBand: i % 3 === 0 ? '12-17' : '5-11',
      area: household?.area ?? areas.stungMeanChey,
      concerns: covidConcerns[i % covidConcerns.length] ?? ['neglect'],
      via: 'home-visit',
      followUps: i % 4 === 3 ? [10, 40] : [3, 30, 90],
      ...(i % 3 === 0
        ? { referrals: [{ service: 'counselling', agency: agencies.counselling, deliveredAfter: 6 }] }
        : {}),
      ...(i % 5 === 1
        ? { placement: { afterDays: 30, placementType: 'kinship', caregiverRelation: 'aunt-uncle' } }
        : {}),
    });
  }

  return result;
};
