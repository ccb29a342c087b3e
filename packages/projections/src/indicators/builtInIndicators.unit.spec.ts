import { createMemoryEventStore, createMemoryReadModelStore } from '@lantern/adapters/memory';
import type { EventStore, NewEvent, Principal, ReadModelStore } from '@lantern/core';
import { catalogEvent, childRegisteredData } from '@lantern/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { createProjectionEngine } from '../engine/projectionEngine.js';
import { type IndicatorData, indicatorTable, loadIndicatorData } from '../queries/indicatorValues.js';
import { builtInIndicators } from './builtInIndicators.js';
import { createIndicatorProjection } from './indicatorProjection.js';

/**
 * Every built-in indicator against one small programme whose figures are worked out by hand
 * below. Children A and B may be reported; child C's consent says no, so nothing about C counts.
 */

const staff = 'st_00000000000000a1';
const analyst: Principal = { id: 'st_00000000000000e1', role: 'analyst', scope: { kind: 'programme' } };
const A = 'ch_000000000000000a';
const B = 'ch_000000000000000b';
const C = 'ch_000000000000000c';
const programmeId = 'pp';

const event = (type: string, data: Record<string, unknown>, occurredAt: string): NewEvent =>
  catalogEvent(type, data, { occurredAt, recordedBy: staff });
const at = (date: string, time = '10:00'): string => `${date}T${time}:00+07:00`;

const registered = (childRef: string, reporting: boolean) =>
  event(
    'ChildRegistered',
    childRegisteredData({
      programmeId,
      childRef,
      sex: 'female',
      ageBand: '12-17',
      area: 'KH-12-06',
      reporting,
    }),
    at('2019-01-05'),
  );
const disclosed = (
  caseId: string,
  childRef: string,
  sex: string,
  ageBand: string,
  concerns: string[],
  on: string,
) =>
  event(
    'CaseDisclosed',
    { programmeId, caseId, childRef, sex, ageBand, area: 'KH-12-06', concerns, disclosedVia: 'outreach' },
    at(on),
  );

const fixture: [stream: string, events: NewEvent[]][] = [
  ['child-a', [registered(A, true)]],
  ['child-b', [registered(B, true)]],
  ['child-c', [registered(C, false)]],
  // Clubs: two kids' clubs and a Healing Arts club; club-2 closes in June → 1 active at the end.
  ...(
    [
      ['c1', 'kids-club', 'KH-12-06', '2019-01-10'],
      ['c2', 'kids-club', 'KH-12-02', '2019-02-01'],
      ['c3', 'healing-arts', 'KH-12-06', '2019-03-01'],
    ] as const
  ).map(([clubId, kind, area, on]): [string, NewEvent[]] => [
    `club-${clubId}`,
    [
      event(
        'ClubEstablished',
        { programmeId, clubId, name: `Club ${clubId}`, area, kind, establishedOn: on },
        at(on),
      ),
    ],
  ]),
  ['club-c2', [event('ClubClosed', { clubId: 'c2', reason: 'premises' }, at('2019-06-15'))]],
  // Sessions: A, B and C attend; C does not count → 2 unique children.
  [
    'club-c1',
    [
      event(
        'ClubSessionHeld',
        {
          clubId: 'c1',
          heldOn: '2019-02-05',
          activity: 'play',
          attendance: [{ sex: 'female', ageBand: '12-17', count: 2 }],
          attendeeRefs: [A, B],
        },
        at('2019-02-05', '16:00'),
      ),
      event(
        'ClubSessionHeld',
        {
          clubId: 'c1',
          heldOn: '2019-03-05',
          activity: 'play',
          attendance: [{ sex: 'female', ageBand: '12-17', count: 2 }],
          attendeeRefs: [A, C],
        },
        at('2019-03-05', '16:00'),
      ),
    ],
  ],
  // Outreach: night shift meets 3 + 2 children and 4 adults → 5; the street shift is not night outreach.
  // Leaflets on outreach: 10 + 5 = 15.
  [
    'outreach-pp',
    [
      event(
        'OutreachConducted',
        {
          programmeId,
          teamId: 'night-1',
          mode: 'night-outreach',
          area: 'KH-12-02',
          shiftStart: '2019-02-10T19:00:00+07:00',
          shiftEnd: '2019-02-10T23:30:00+07:00',
          contacts: [
            { sex: 'female', ageBand: '12-17', count: 3 },
            { sex: 'male', ageBand: '5-11', count: 2 },
            { sex: 'female', ageBand: '18+', count: 4 },
          ],
          newChildRefs: [],
          leafletsDistributed: 10,
        },
        at('2019-02-10', '23:30'),
      ),
      event(
        'OutreachConducted',
        {
          programmeId,
          teamId: 'day-1',
          mode: 'street',
          area: 'KH-12-02',
          shiftStart: '2019-02-11T09:00:00+07:00',
          shiftEnd: '2019-02-11T12:00:00+07:00',
          contacts: [{ sex: 'male', ageBand: '12-17', count: 5 }],
          newChildRefs: [],
          leafletsDistributed: 5,
        },
        at('2019-02-11', '12:00'),
      ),
    ],
  ],
  // Cases: 001 (A) and 002 (B) count; 003 (C) does not. Concerns: 2 + 1 = 3.
  [
    'case-PP-2019-001',
    [
      disclosed('PP-2019-001', A, 'female', '12-17', ['sexual-abuse', 'neglect'], '2019-03-01'),
      event(
        'CaseFollowedUp',
        { caseId: 'PP-2019-001', followedUpOn: '2019-03-05', kind: 'home-visit' },
        at('2019-03-05'),
      ),
      event(
        'CaseReferred',
        {
          caseId: 'PP-2019-001',
          referralId: 'r1',
          service: 'medical',
          toAgencyRef: 'ag_00000000000000a1',
          consentBasis: { kind: 'given' },
        },
        at('2019-03-06'),
      ),
      event(
        'ServiceDelivered',
        { caseId: 'PP-2019-001', referralId: 'r1', service: 'medical', deliveredOn: '2019-03-08' },
        at('2019-03-08'),
      ),
      event(
        'ChildPlacedSafely',
        { caseId: 'PP-2019-001', childRef: A, placementType: 'parent', caregiverRelation: 'mother' },
        at('2019-03-11'),
      ),
      event('CaseClosed', { caseId: 'PP-2019-001', reason: 'goals-met' }, at('2019-05-01')),
    ],
  ],
  [
    'case-PP-2019-002',
    [
      disclosed('PP-2019-002', B, 'male', '5-11', ['sexual-exploitation'], '2019-03-10'),
      event(
        'CaseFollowedUp',
        { caseId: 'PP-2019-002', followedUpOn: '2019-03-20', kind: 'phone' },
        at('2019-03-20'),
      ),
      event(
        'CaseReferred',
        {
          caseId: 'PP-2019-002',
          referralId: 'r2',
          service: 'shelter',
          toAgencyRef: 'ag_00000000000000a2',
          consentBasis: { kind: 'given' },
        },
        at('2019-03-12'),
      ),
      event(
        'ChildPlacedSafely',
        {
          caseId: 'PP-2019-002',
          childRef: B,
          placementType: 'residential',
          caregiverRelation: 'residential-staff',
        },
        at('2019-03-14'),
      ),
      event('CaseClosed', { caseId: 'PP-2019-002', reason: 'transferred' }, at('2019-05-02')),
    ],
  ],
  [
    'case-PP-2019-003',
    [
      disclosed('PP-2019-003', C, 'female', '12-17', ['trafficking'], '2019-03-12'),
      event(
        'CaseFollowedUp',
        { caseId: 'PP-2019-003', followedUpOn: '2019-03-13', kind: 'office' },
        at('2019-03-13'),
      ),
      event(
        'ChildPlacedSafely',
        { caseId: 'PP-2019-003', childRef: C, placementType: 'kinship', caregiverRelation: 'aunt-uncle' },
        at('2019-03-14'),
      ),
      event('CaseClosed', { caseId: 'PP-2019-003', reason: 'goals-met' }, at('2019-05-03')),
    ],
  ],
  // Wellbeing: A +4 (improved), B +1 (not), C +9 (not counted) → 1 of 2.
  [
    'child-a',
    [
      event(
        'WellbeingAssessed',
        { childRef: A, instrument: 'who-5', score: 10, kind: 'initial' },
        at('2019-03-02'),
      ),
      event(
        'WellbeingAssessed',
        { childRef: A, instrument: 'who-5', score: 14, kind: 'follow-up' },
        at('2019-04-02'),
      ),
    ],
  ],
  [
    'child-b',
    [
      event(
        'WellbeingAssessed',
        { childRef: B, instrument: 'who-5', score: 12, kind: 'initial' },
        at('2019-03-11'),
      ),
      event(
        'WellbeingAssessed',
        { childRef: B, instrument: 'who-5', score: 13, kind: 'follow-up' },
        at('2019-04-11'),
      ),
    ],
  ],
  [
    'child-c',
    [
      event(
        'WellbeingAssessed',
        { childRef: C, instrument: 'who-5', score: 5, kind: 'initial' },
        at('2019-03-13'),
      ),
      event(
        'WellbeingAssessed',
        { childRef: C, instrument: 'who-5', score: 14, kind: 'follow-up' },
        at('2019-04-13'),
      ),
    ],
  ],
  // Aid: households 1 and 2 → 2; rice 5 + 5 + 10 = 20 kg, fish 2 cans → 22.
  [
    'aid-pp',
    (
      [
        [
          'hh_00000000000000a1',
          [
            { item: 'rice', quantity: 5, unit: 'kg' },
            { item: 'fish', quantity: 2, unit: 'can' },
          ],
        ],
        ['hh_00000000000000a1', [{ item: 'rice', quantity: 5, unit: 'kg' }]],
        ['hh_00000000000000a2', [{ item: 'rice', quantity: 10, unit: 'kg' }]],
      ] as const
    ).map(([householdRef, items], i) =>
      event(
        'AidDistributed',
        {
          programmeId,
          distributionId: `d${i}`,
          area: 'KH-12-06',
          householdRef,
          items,
          context: 'covid-relief',
        },
        at('2020-04-10'),
      ),
    ),
  ],
  // Home visits: 3. Awareness: parents 6 + 4 = 10 (the community session does not count).
  [
    'outreach-pp',
    [
      ...[1, 2, 3].map((i) =>
        event(
          'HomeVisitConducted',
          {
            programmeId,
            householdRef: `hh_00000000000000b${i}`,
            childRefs: [],
            reason: 'club-substitute',
            area: 'KH-12-06',
          },
          at(`2020-04-0${String(i)}`),
        ),
      ),
      event(
        'AwarenessSessionHeld',
        {
          programmeId,
          audience: 'parents',
          topic: 'covid-19-facts',
          participants: [
            { sex: 'female', count: 6 },
            { sex: 'male', count: 4 },
          ],
          area: 'KH-12-06',
        },
        at('2020-04-05'),
      ),
      event(
        'AwarenessSessionHeld',
        {
          programmeId,
          audience: 'community',
          topic: 'hygiene',
          participants: [{ sex: 'female', count: 9 }],
          area: 'KH-12-06',
        },
        at('2020-04-06'),
      ),
      // Leaflets distributed: 100.
      event(
        'LiteratureDistributed',
        {
          programmeId,
          material: 'anti-trafficking-leaflet',
          quantity: 100,
          audience: 'community',
          area: 'KH-12-02',
        },
        at('2020-04-07'),
      ),
    ],
  ],
  // Staff trained: st1 twice, st2 once → 2 people.
  [
    'training-pp',
    [
      event(
        'StaffTrained',
        { programmeId, staffRef: 'st_00000000000000b1', course: 'first-aid', hours: 8 },
        at('2019-01-20'),
      ),
      event(
        'StaffTrained',
        { programmeId, staffRef: 'st_00000000000000b1', course: 'case-management', hours: 8 },
        at('2019-01-21'),
      ),
      event(
        'StaffTrained',
        { programmeId, staffRef: 'st_00000000000000b2', course: 'first-aid', hours: 8 },
        at('2019-01-22'),
      ),
    ],
  ],
  // Target: 2 active kids' clubs over the life of the programme.
  [
    'programme-pp',
    [
      event(
        'TargetSet',
        {
          programmeId,
          indicatorId: 'active-kids-clubs',
          periodStart: '2019-01-01',
          periodEnd: '2020-12-31',
          value: 2,
          baseline: 0,
        },
        at('2019-01-01'),
      ),
    ],
  ],
];

/** Every built-in indicator's value over the life of the fixture, worked out above. */
const expectedLife: Record<string, number | null> = {
  'active-kids-clubs': 1,
  'children-in-clubs': 2,
  'children-reached-night-outreach': 5,
  'cases-disclosed': 2,
  'cases-disclosed-by-concern': 3,
  'cases-followed-up-within-7-days': 1,
  'pct-cases-followed-up-within-7-days': 50,
  'referrals-made': 2,
  'referrals-completed': 1,
  'pct-referrals-completed': 50,
  'children-placed-family-care': 1,
  // 001: 10 days, 002: 4 days → (4 + 10) / 2.
  'median-days-disclosure-to-placement': 7,
  'cases-closed': 2,
  'cases-closed-goals-met': 1,
  'pct-cases-closed-goals-met': 50,
  'children-wellbeing-reassessed': 2,
  'children-wellbeing-improved': 1,
  'pct-wellbeing-improved': 50,
  'households-food-aid': 2,
  'food-aid-quantity': 22,
  'home-visits': 3,
  'parents-reached-awareness': 10,
  'leaflets-distributed': 100,
  'leaflets-on-outreach': 15,
  'staff-trained': 2,
};

describe('built-in indicators on a hand-computed programme', () => {
  const projection = createIndicatorProjection({
    indicators: builtInIndicators,
    timeZone: 'Asia/Phnom_Penh',
  });
  let data: IndicatorData;
  let store: EventStore;
  let readModels: ReadModelStore;

  beforeAll(async () => {
    store = createMemoryEventStore();
    let last = 0n;
    for (const [stream, events] of fixture) last = (await store.append(stream, events)).position;
    readModels = createMemoryReadModelStore();
    const engine = createProjectionEngine({
      eventStore: store,
      readModels,
      projections: [projection],
      batchSize: 7,
    });
    await engine.start();
    await engine.waitFor(last);
    await engine.stop();
    data = await loadIndicatorData(readModels, projection);
  });

  it('has a worked-out figure for every built-in indicator, and each is defined once', () => {
    expect(Object.keys(expectedLife).sort()).toEqual(builtInIndicators.map((i) => i.id).sort());
  });

  it.each(Object.entries(expectedLife))('%s over the life of the programme is %s', (indicator, expected) => {
    const table = indicatorTable(projection, data, {
      principal: analyst,
      indicator,
      period: 'life',
    });
    expect(table.rows).toHaveLength(1);
    expect(table.rows[0]?.actual).toBe(expected);
  });

  it('breaks night outreach down by sex and age band, leaving adults out', () => {
    const table = indicatorTable(projection, data, {
      principal: analyst,
      indicator: 'children-reached-night-outreach',
      period: 'month',
      by: ['item.sex', 'item.ageBand'],
    });
    expect(table.rows.map((r) => [r.period.label, r.dims, r.actual])).toEqual([
      ['2019-02', { 'item.sex': 'female', 'item.ageBand': '12-17' }, 3],
      ['2019-02', { 'item.sex': 'male', 'item.ageBand': '5-11' }, 2],
    ]);
  });

  it('keeps the months the indicators observed anything in, every indicator together', async () => {
    // Club c1 opened on 10 January 2019; the last visits and distributions are in April 2020.
    expect(data.months).toEqual({ first: '2019-01', last: '2020-04' });
    expect(await readModels.getDocument(projection.name, 'coverage', 'observed')).toEqual({
      first: '2019-01',
      last: '2020-04',
    });
  });

  it('runs a stock on to the last month observed, not to its own last event', () => {
    // No club opened or closed after June 2019, and club c1 was still open in April 2020.
    const byQuarter = indicatorTable(projection, data, {
      principal: analyst,
      indicator: 'active-kids-clubs',
      period: 'quarter',
    });
    expect(byQuarter.rows.map((r) => [r.period.label, r.actual])).toEqual([
      ['2019-Q1', 2],
      ['2019-Q2', 1],
      ['2019-Q3', 1],
      ['2019-Q4', 1],
      ['2020-Q1', 1],
      ['2020-Q2', 1],
    ]);
    const byMonth = indicatorTable(projection, data, {
      principal: analyst,
      indicator: 'active-kids-clubs',
      period: 'month',
    });
    expect(byMonth.rows.at(-1)).toMatchObject({ period: { label: '2020-04' }, actual: 1 });
    expect(byMonth.rows).toHaveLength(16);
  });

  it('counts active clubs at the end of each period (a stock), and shows the target against it', () => {
    const byMonth = indicatorTable(projection, data, {
      principal: analyst,
      indicator: 'active-kids-clubs',
      period: 'month',
      to: '2019-06',
    });
    expect(byMonth.rows.map((r) => [r.period.label, r.actual])).toEqual([
      ['2019-01', 1],
      ['2019-02', 2],
      ['2019-03', 2],
      ['2019-04', 2],
      ['2019-05', 2],
      ['2019-06', 1],
    ]);
    const life = indicatorTable(projection, data, {
      principal: analyst,
      indicator: 'active-kids-clubs',
      period: 'life',
    });
    expect(life.rows[0]).toMatchObject({ actual: 1, target: 2, baseline: 0, percentOfTarget: 50 });
  });

  it('gives ratios with their parts, and food aid by item and unit', () => {
    const followedUp = indicatorTable(projection, data, {
      principal: analyst,
      indicator: 'pct-cases-followed-up-within-7-days',
    });
    expect(followedUp.rows[0]).toMatchObject({ actual: 50, numerator: 1, denominator: 2 });
    const aid = indicatorTable(projection, data, {
      principal: analyst,
      indicator: 'food-aid-quantity',
      by: ['item.item', 'item.unit'],
    });
    expect(aid.rows.map((r) => [r.dims['item.item'], r.dims['item.unit'], r.actual])).toEqual([
      ['fish', 'can', 2],
      ['rice', 'kg', 20],
    ]);
  });

  it.each(Object.keys(expectedLife))(
    '%s loaded alone, by its keys, gives the figures of a full load',
    async (indicator) => {
      const alone = await loadIndicatorData(readModels, projection, { indicators: [indicator] });
      const compiled = projection.indicators.get(indicator);
      const parts = compiled?.kind === 'ratio' ? [compiled.numerator, compiled.denominator] : [indicator];
      expect(new Set(alone.observations.map((o) => o.indicator))).toEqual(
        new Set(data.observations.filter((o) => parts.includes(String(o.indicator))).map((o) => o.indicator)),
      );
      const request = { principal: analyst, indicator, period: 'month' as const };
      expect(indicatorTable(projection, alone, request)).toEqual(indicatorTable(projection, data, request));
    },
  );

  it("reads the children's consent only for indicators about a child or a case", async () => {
    const read: string[] = [];
    const counting = new Proxy(readModels, {
      get: (target, property, receiver) =>
        property === 'documents'
          ? (...args: Parameters<ReadModelStore['documents']>) => {
              read.push(args[1]);
              return target.documents(...args);
            }
          : Reflect.get(target, property, receiver),
    });
    const aboutNoChild = [...projection.indicators.values()]
      .filter((indicator) => indicator.kind !== 'ratio' && indicator.about === undefined)
      .map((indicator) => indicator.indicator.id);
    expect(aboutNoChild).toContain('home-visits');
    const homeVisits = await loadIndicatorData(counting, projection, { indicators: aboutNoChild });
    expect(read).not.toContain('children');
    expect(homeVisits.reportable).toBeUndefined();
    for (const indicator of aboutNoChild) {
      const request = { principal: analyst, indicator, period: 'month' as const };
      expect(indicatorTable(projection, homeVisits, request)).toEqual(
        indicatorTable(projection, data, request),
      );
    }

    read.length = 0;
    const inClubs = await loadIndicatorData(counting, projection, { indicators: ['children-in-clubs'] });
    expect(read).toContain('children');
    expect(inClubs.reportable).toEqual(data.reportable);
  });

  it('counts no child when the data holds no consent for them: when unsure, protect the child', async () => {
    const withConsent = await loadIndicatorData(readModels, projection, {
      indicators: ['children-in-clubs'],
    });
    const { reportable: _consent, ...withoutConsent } = withConsent;
    const request = { principal: analyst, indicator: 'children-in-clubs' };
    expect(indicatorTable(projection, withConsent, request).rows[0]?.actual).toBeGreaterThan(0);
    expect(indicatorTable(projection, withoutConsent, request).rows[0]?.actual ?? 0).toBe(0);
  });

  it('refuses a query for an indicator the data was not loaded for, rather than read zero', async () => {
    const homeVisits = await loadIndicatorData(readModels, projection, { indicators: ['home-visits'] });
    expect(homeVisits.observations.length).toBeGreaterThan(0);
    expect(homeVisits.observations.length).toBeLessThan(data.observations.length);
    expect(() =>
      indicatorTable(projection, homeVisits, { principal: analyst, indicator: 'staff-trained' }),
    ).toThrow(
      /loaded for "home-visits" only, not "staff-trained".*name "staff-trained" too in loadIndicatorData's indicators/,
    );
    await expect(
      loadIndicatorData(readModels, projection, { indicators: ['no-such-thing'] }),
    ).rejects.toThrow(/no indicator "no-such-thing"/);
    await expect(
      loadIndicatorData(readModels, projection, { indicators: 'home-visits' as unknown as string[] }),
    ).rejects.toThrow(/indicators must be a list of indicator ids/);
  });

  it('refuses a breakdown the indicator does not have, and a period that does not parse, before reading', () => {
    expect(() =>
      indicatorTable(projection, data, {
        principal: analyst,
        indicator: 'home-visits',
        by: ['data.childRef'],
      }),
    ).toThrow(/cannot be broken down by "data.childRef".*data.reason, data.area/);
    expect(() =>
      indicatorTable(projection, data, {
        principal: analyst,
        indicator: 'home-visits',
        from: '2020-13',
      }),
    ).toThrow(/does not parse.*YYYY-MM/);
    expect(() =>
      indicatorTable(projection, data, {
        principal: analyst,
        indicator: 'home-visits',
        period: 'week' as never,
      }),
    ).toThrow(/not a reporting period/);
    expect(() =>
      indicatorTable(projection, data, {
        principal: analyst,
        indicator: 'no-such-thing',
      }),
    ).toThrow(/no indicator "no-such-thing"/);
  });
});
