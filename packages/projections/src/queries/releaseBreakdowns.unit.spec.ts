import { createMemoryEventStore, createMemoryReadModelStore } from '@lantern/adapters/memory';
import { type EventStore, isDisclosureError, type NewEvent, type Principal } from '@lantern/core';
import { catalogEvent, childRegisteredData } from '@lantern/core/testing';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { coarsenArea } from '../disclosure/index.js';
import { createProjectionEngine } from '../engine/projectionEngine.js';
import { builtInIndicators } from '../indicators/builtInIndicators.js';
import type { Indicator } from '../indicators/compileIndicator.js';
import { createIndicatorProjection, type IndicatorProjection } from '../indicators/indicatorProjection.js';
import { clubsOpen, kidsClubShare } from './clubShare.fixture.js';
import { type IndicatorData, loadIndicatorData } from './indicatorValues.js';
import { type ReleasedIndicator, type ReleasedIndicatorRow, releaseNow } from './releaseIndicator.js';

/**
 * A distinct indicator counts each household (or member of staff) once per period, so its totals
 * over a breakdown, and its cells once areas are coarsened, are unions of what the cells count,
 * not sums: a household given aid in two districts is one household of their province.
 */
const staff = 'st_00000000000000a1';
const analyst: Principal = { id: 'st_00000000000000e1', role: 'analyst', scope: { kind: 'programme' } };
const donor: Principal = { id: 'dn_00000000000000a1', role: 'donor' };
const household = (n: number): string => `hh_${String(n).padStart(16, '0')}`;

interface Aid {
  readonly household: number;
  readonly area: string;
  readonly context?: 'covid-relief' | 'club' | 'emergency';
  /** Default 2020-03-10. */
  readonly on?: string;
}

const aidEvent = (aid: Aid, n: number): NewEvent =>
  catalogEvent(
    'AidDistributed',
    {
      programmeId: 'pp',
      distributionId: `aid-${n}`,
      area: aid.area,
      householdRef: household(aid.household),
      items: [{ item: 'rice', quantity: 5, unit: 'kg' }],
      context: aid.context ?? 'covid-relief',
    },
    { occurredAt: `${aid.on ?? '2020-03-10'}T10:00:00+07:00`, recordedBy: staff },
  );

/** The projection rebuilt from `store` up to `last`, and what its queries read. */
const rebuilt = async (
  projection: IndicatorProjection,
  store: EventStore,
  last: bigint,
): Promise<IndicatorData> => {
  const readModels = createMemoryReadModelStore();
  const engine = createProjectionEngine({ eventStore: store, readModels, projections: [projection] });
  await engine.start();
  await engine.waitFor(last);
  await engine.stop();
  return loadIndicatorData(readModels, projection);
};

const loadAid = async (projection: IndicatorProjection, aid: readonly Aid[]): Promise<IndicatorData> => {
  const store = createMemoryEventStore();
  let last = 0n;
  for (const [n, one] of aid.entries()) last = (await store.append(`aid-${n}`, [aidEvent(one, n)])).position;
  return rebuilt(projection, store, last);
};

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** What a row shows, for comparing. */
const shown = (row: ReleasedIndicatorRow) => [row.period, row.dims['data.area'] ?? 'all', row.actual];

describe('totals and coarsened cells of a distinct indicator', () => {
  const projection = createIndicatorProjection({
    indicators: builtInIndicators,
    timeZone: 'Asia/Phnom_Penh',
  });
  let data: IndicatorData;

  // March 2020: households 1–6 in district KH-12-06, 4–9 in KH-12-09 (4, 5 and 6 in both), and
  // 1, 10, 11, 12 in commune KH-03-01-01. Twelve households in all: the districts' cells add up
  // to 16. April 2020: household 1 again, in KH-12-06.
  beforeAll(async () => {
    data = await loadAid(projection, [
      ...range(1, 6).map((n) => ({ household: n, area: 'KH-12-06' })),
      ...range(4, 9).map((n) => ({ household: n, area: 'KH-12-09' })),
      ...[1, 10, 11, 12].map((n) => ({ household: n, area: 'KH-03-01-01' })),
      { household: 1, area: 'KH-12-06', on: '2020-04-02' },
    ]);
  });

  it('gives the programme each household once in a total over areas', () => {
    const released = releaseNow(projection, data, {
      indicator: 'households-food-aid',
      period: 'month',
      by: ['data.area'],
      audience: 'internal',
      principal: analyst,
    });
    expect(released.rows.map(shown)).toEqual([
      ['2020-03', 'KH-03-01-01', { value: 4 }],
      ['2020-03', 'KH-12-06', { value: 6 }],
      ['2020-03', 'KH-12-09', { value: 6 }],
      ['2020-04', 'KH-12-06', { value: 1 }],
    ]);
    expect(released.totals.map(shown)).toEqual([
      ['2020-03', 'all', { value: 12 }],
      ['2020-04', 'all', { value: 1 }],
    ]);
  });

  it('merges districts into their province for a donor as a union, and hides what is small', () => {
    const released = releaseNow(projection, data, {
      indicator: 'households-food-aid',
      period: 'quarter',
      by: ['data.area'],
      audience: 'donor',
      principal: donor,
    });
    // In the quarter: KH-12 gave aid to households 1–9, KH-03 to 1, 10, 11 and 12; 12 in all.
    const truth: Record<string, number> = { 'KH-12': 9, 'KH-03': 4, all: 12 };
    const entries = [...released.rows, ...released.totals].filter((row) => row.period === '2020-Q1');
    expect(entries.map((row) => row.dims['data.area'] ?? 'all').sort()).toEqual(['KH-03', 'KH-12', 'all']);
    for (const row of entries) {
      const value = truth[row.dims['data.area'] ?? 'all'] as number;
      if ('suppressed' in row.actual) expect(row.actual.suppressed === 'primary').toBe(value < 5);
      else expect(row.actual.value).toBe(value);
    }
    expect(released.rows.find((row) => row.dims['data.area'] === 'KH-03')?.actual).toEqual({
      value: '<5',
      suppressed: 'primary',
    });
    // Nine and twelve would give the four away as a difference: one of them is hidden too.
    const hidden = entries.map((row) => ('suppressed' in row.actual ? row.actual.suppressed : 'released'));
    expect(hidden.sort()).toEqual(['primary', 'released', 'secondary']);
    // April's one household, in the second quarter, is small as well (its cell and its total).
    expect(released.suppression).toEqual({ primary: 3, secondary: 1 });
  });

  it('gives no household count away from a release by province and one without a breakdown together', async () => {
    // One household in KH-12 and five in KH-09. By province, the 1 needs the total hidden: KH-09's
    // 5 cannot go down to hide it. Without a breakdown the total of 6 went out on its own, and with
    // KH-09's 5 it gave KH-12's 1 away. One protection of both gives the total, not the provinces.
    const few = await loadAid(projection, [
      { household: 1, area: 'KH-12-06' },
      ...range(2, 6).map((n) => ({ household: n, area: 'KH-09-01' })),
    ]);
    const release = (by: string[]) =>
      releaseNow(projection, few, {
        indicator: 'households-food-aid',
        period: 'month',
        by,
        audience: 'donor',
        principal: donor,
      });
    const total = release([]);
    let byProvince: ReleasedIndicator | undefined;
    try {
      byProvince = release(['data.area']);
    } catch (error) {
      expect(isDisclosureError(error)).toBe(true);
      expect((error as Error).message).toMatch(
        /cannot go to a donor by data.area: .* Ask for it without a breakdown/,
      );
    }
    const figures = [
      ...total.rows,
      ...total.totals,
      ...(byProvince ? [...byProvince.rows, ...byProvince.totals] : []),
    ];
    // The attacker knows what is released, that "<5" is 1…4 and any other hidden figure 0 or 5
    // and more, and (stronger than a real one) that no household is in both provinces.
    const possible = new Set<number>();
    for (let kh12 = 0; kh12 <= 20; kh12 += 1) {
      for (let kh09 = 0; kh09 <= 20; kh09 += 1) {
        const holds = figures.every((row) => {
          const area = row.dims['data.area'];
          const count = area === 'KH-12' ? kh12 : area === 'KH-09' ? kh09 : kh12 + kh09;
          const actual = row.actual;
          return !('suppressed' in actual)
            ? actual.value === count
            : actual.suppressed === 'primary'
              ? count >= 1 && count <= 4
              : count === 0 || count >= 5;
        });
        if (holds) possible.add(kh12);
      }
    }
    expect(total.rows.map(shown)).toEqual([['2020-03', 'all', { value: 6 }]]);
    expect(possible.size).toBeGreaterThanOrEqual(2);
  });

  it('gives the public each country as the donor’s total over its provinces, from one protection', () => {
    const release = (audience: 'donor' | 'public', by: string[]) =>
      releaseNow(projection, data, {
        indicator: 'households-food-aid',
        period: 'quarter',
        by,
        audience,
        principal: donor,
      });
    const donorTotals = release('donor', ['data.area']).totals;
    const publicRows = release('public', ['data.area']).rows;
    // Each quarter's country is the quarter's total over the provinces, hidden or not as the
    // donor's is: protected apart, the public's 12 could show where the donor's is hidden.
    expect(publicRows.map((row) => row.dims['data.area'])).toEqual(['KH', 'KH']);
    for (const row of publicRows) {
      expect(row.actual).toEqual(donorTotals.find((total) => total.period === row.period)?.actual);
    }
  });

  it('refuses the public a distinct count by country when the provinces lie in more than one', async () => {
    // A household may be in two countries' figures: their provinces cannot be added up.
    const twoCountries = await loadAid(projection, [
      ...range(1, 6).map((n) => ({ household: n, area: 'KH-12-06' })),
      ...range(7, 12).map((n) => ({ household: n, area: 'TH-10-01' })),
    ]);
    expect(() =>
      releaseNow(projection, twoCountries, {
        indicator: 'households-food-aid',
        period: 'quarter',
        by: ['data.area'],
        audience: 'public',
        principal: donor,
      }),
    ).toThrow(/households-food-aid" cannot go to a public by data.area: it counts each thing once/);
  });

  it('counts a household once in a quarter, over months and areas', () => {
    const released = releaseNow(projection, data, {
      indicator: 'households-food-aid',
      period: 'quarter',
      audience: 'donor',
      principal: donor,
    });
    expect(released.rows.map(shown)).toEqual([
      ['2020-Q1', 'all', { value: 12 }],
      ['2020-Q2', 'all', { value: '<5', suppressed: 'primary' }],
    ]);
  });
});

describe('released distinct tables, for any households in any areas (property)', () => {
  // Households given aid by area and context: two provinces of two districts each.
  // The built-in count of households, broken down by context as well as area.
  const households = builtInIndicators.find((i) => i.id === 'households-food-aid');
  if (!households) throw new Error('The built-in households-food-aid is missing.');
  const byAreaAndContext: Indicator = {
    ...households,
    id: 'households-by-context',
    title: 'Households receiving aid, by context',
    definition: { ...households.definition, dimensions: ['data.area', 'data.context'] },
  };
  const projection = createIndicatorProjection({
    indicators: [byAreaAndContext],
    timeZone: 'Asia/Phnom_Penh',
  });
  const areas = ['KH-12-06', 'KH-12-09', 'KH-03-01', 'KH-03-02'] as const;
  const contexts = ['covid-relief', 'club', 'emergency'] as const;
  const aid = fc.array(
    fc.record({
      household: fc.integer({ min: 1, max: 14 }),
      area: fc.constantFrom(...areas),
      context: fc.constantFrom(...contexts),
    }),
    { minLength: 1, maxLength: 40 },
  );

  it('releases every figure as the number of households it covers, each once, and none of 1–4 to a donor', async () => {
    let donorTables = 0;
    await fc.assert(
      fc.asyncProperty(aid, async (given) => {
        const data = await loadAid(projection, given);
        for (const audience of ['internal', 'donor'] as const) {
          const areaOf = (area: string) => (audience === 'internal' ? area : coarsenArea(area, 1));
          let released: ReleasedIndicator;
          try {
            released = releaseNow(projection, data, {
              indicator: 'households-by-context',
              period: 'month',
              by: ['data.area', 'data.context'],
              audience,
              principal: audience === 'internal' ? analyst : donor,
            });
          } catch (error) {
            // A table whose "<5" labels would give the counts away is refused whole: nothing leaves.
            if (audience === 'donor' && isDisclosureError(error)) continue;
            throw error;
          }
          if (audience === 'donor') donorTables += 1;
          const truthOf = (dims: Readonly<Record<string, string>>): number =>
            new Set(
              given
                .filter(
                  (one) =>
                    (dims['data.area'] === undefined || areaOf(one.area) === dims['data.area']) &&
                    (dims['data.context'] === undefined || one.context === dims['data.context']),
                )
                .map((one) => one.household),
            ).size;
          for (const row of [...released.rows, ...released.totals]) {
            const truth = truthOf(row.dims);
            if (!('suppressed' in row.actual)) expect(row.actual.value).toBe(truth);
            else if (row.actual.suppressed === 'primary') expect(truth >= 1 && truth < 5).toBe(true);
            else expect(truth === 0 || truth >= 5).toBe(true);
            if (audience === 'internal') expect('suppressed' in row.actual).toBe(false);
          }
        }
      }),
      { numRuns: 40 },
    );
    // Most tables can be released: the property is about them, not about refusals.
    expect(donorTables).toBeGreaterThan(20);
  });
});

describe('a protected stock (active) by area, for a donor', () => {
  const clubsByArea: Indicator = {
    ...clubsOpen('clubs-by-area', undefined, ['data.area']),
    title: 'Clubs open, by area',
  };

  it('adds the districts of a province together: a club is in one place', async () => {
    const projection = createIndicatorProjection({ indicators: [clubsByArea], timeZone: 'Asia/Phnom_Penh' });
    const store = createMemoryEventStore();
    let last = 0n;
    for (const [n, area] of [
      'KH-12-06',
      'KH-12-06',
      'KH-12-06',
      'KH-12-09',
      'KH-12-09',
      'KH-12-09',
      'KH-12-09',
    ].entries()) {
      const clubId = `club-${n}`;
      last = (
        await store.append(`club-${clubId}`, [
          catalogEvent(
            'ClubEstablished',
            {
              programmeId: 'pp',
              clubId,
              name: `Club ${n}`,
              area,
              kind: 'kids-club',
              establishedOn: '2020-03-02',
            },
            { occurredAt: '2020-03-02T10:00:00+07:00', recordedBy: staff },
          ),
        ])
      ).position;
    }
    const data = await rebuilt(projection, store, last);
    const released = releaseNow(projection, data, {
      indicator: 'clubs-by-area',
      period: 'month',
      by: ['data.area'],
      audience: 'donor',
      principal: donor,
    });
    expect(released.rows.map(shown)).toEqual([['2020-03', 'KH-12', { value: 7 }]]);
  });

  it('gives a percentage of two stocks at each period’s end, the same inside the programme and out', async () => {
    // Kids' clubs of all clubs open: in January 5 kids' clubs and 5 healing-arts clubs open
    // (50%), in February 10 more healing-arts clubs (25%, and 25% at the quarter's end). No
    // kids' club opened in February, yet its 5 are still open; and a quarter's clubs are those
    // open at its end, not its months' added up (which gave 15 of 30).
    const projection = createIndicatorProjection({
      indicators: kidsClubShare(['data.area']),
      timeZone: 'Asia/Phnom_Penh',
    });
    const store = createMemoryEventStore();
    let last = 0n;
    let n = 0;
    for (const [on, kind, area, count] of [
      ['2020-01-06', 'kids-club', 'KH-12-06', 5],
      ['2020-01-06', 'healing-arts', 'KH-12-09', 5],
      ['2020-02-03', 'healing-arts', 'KH-12-09', 10],
    ] as const) {
      for (let i = 0; i < count; i += 1) {
        const clubId = `club-${n++}`;
        last = (
          await store.append(`club-${clubId}`, [
            catalogEvent(
              'ClubEstablished',
              { programmeId: 'pp', clubId, name: `Club ${n}`, area, kind, establishedOn: on },
              { occurredAt: `${on}T10:00:00+07:00`, recordedBy: staff },
            ),
          ])
        ).position;
      }
    }
    const data = await rebuilt(projection, store, last);
    const percentages = (period: 'month' | 'quarter', audience: 'internal' | 'donor', by: string[] = []) =>
      releaseNow(projection, data, {
        indicator: 'pct-kids-clubs',
        period,
        by,
        audience,
        principal: audience === 'internal' ? analyst : donor,
      }).rows.map(shown);
    for (const audience of ['internal', 'donor'] as const) {
      expect(percentages('month', audience)).toEqual([
        ['2020-01', 'all', { value: 50 }],
        ['2020-02', 'all', { value: 25 }],
      ]);
      expect(percentages('quarter', audience)).toEqual([['2020-Q1', 'all', { value: 25 }]]);
    }
    // A stock adds up over areas: the donor's province holds both districts.
    expect(percentages('quarter', 'donor', ['data.area'])).toEqual([['2020-Q1', 'KH-12', { value: 25 }]]);
  });
});

describe('a ratio by area, and a release with nothing in range', () => {
  // Percentages of cases followed up within 7 days, by area; and a ratio of two distinct counts.
  // The built-in percentage, broken down by area.
  const followedUp = builtInIndicators.find((i) => i.id === 'pct-cases-followed-up-within-7-days');
  if (!followedUp) throw new Error('The built-in pct-cases-followed-up-within-7-days is missing.');
  const followedUpByArea: Indicator = {
    ...followedUp,
    id: 'pct-followed-up-by-area',
    title: '% of cases followed up within 7 days, by area',
    definition: { ...followedUp.definition, dimensions: ['data.area'] },
  };
  const ofHouseholds: Indicator = {
    id: 'pct-households-by-area',
    title: 'Households given aid, per household counted',
    unit: '%',
    measure: 'percentage',
    ascending: true,
    definition: {
      filter: { eventTypes: ['AidDistributed'] },
      value: {
        kind: 'ratio',
        numerator: 'households-food-aid',
        denominator: 'households-food-aid',
        scale: 100,
      },
      dimensions: ['data.area'],
    },
  };
  const projection = createIndicatorProjection({
    indicators: [...builtInIndicators, followedUpByArea, ofHouseholds],
    timeZone: 'Asia/Phnom_Penh',
  });
  let data: IndicatorData;

  // March 2020: 10 cases in district KH-12-06 and 10 in KH-12-09, every child registered with
  // consent to report; 6 of the first district's and 9 of the second's followed up within 7 days.
  beforeAll(async () => {
    const store = createMemoryEventStore();
    const metadata = (on: string) => ({ occurredAt: `${on}T10:00:00+07:00`, recordedBy: staff });
    let last = 0n;
    for (let n = 0; n < 20; n += 1) {
      const area = n < 10 ? 'KH-12-06' : 'KH-12-09';
      const childRef = `ch_${String(n).padStart(16, '0')}`;
      const caseId = `PP-2020-${String(n).padStart(3, '0')}`;
      const child = { programmeId: 'pp', childRef, sex: 'female', ageBand: '12-17', area };
      await store.append(`child-${childRef}`, [
        catalogEvent('ChildRegistered', childRegisteredData(child), metadata('2020-03-01')),
      ]);
      const followedUp = n < 6 || n >= 11;
      last = (
        await store.append(`case-${caseId}`, [
          catalogEvent(
            'CaseDisclosed',
            { ...child, caseId, concerns: ['neglect'], disclosedVia: 'outreach' },
            metadata('2020-03-02'),
          ),
          ...(followedUp
            ? [
                catalogEvent(
                  'CaseFollowedUp',
                  { caseId, followedUpOn: '2020-03-05', kind: 'home-visit' },
                  metadata('2020-03-05'),
                ),
              ]
            : []),
        ])
      ).position;
    }
    data = await rebuilt(projection, store, last);
  });

  it('adds numerators and denominators of districts into their province for a donor', () => {
    const released = releaseNow(projection, data, {
      indicator: 'pct-followed-up-by-area',
      period: 'month',
      by: ['data.area'],
      audience: 'donor',
      principal: donor,
    });
    expect(released.rows.map(shown)).toEqual([['2020-03', 'KH-12', { value: 75 }]]);
  });

  it('refuses a breakdown of a ratio of distinct counts, before any figure is computed', () => {
    expect(() =>
      releaseNow(projection, data, {
        indicator: 'pct-households-by-area',
        by: ['data.area'],
        audience: 'internal',
        principal: analyst,
      }),
    ).toThrow(/ratio of distinct counts.*ask for it without a breakdown.*Fix the request and ask again/);
  });

  it('releases an empty table for a period with nothing in it', () => {
    const released = releaseNow(projection, data, {
      indicator: 'home-visits',
      period: 'month',
      by: ['data.area'],
      from: '2021-01',
      to: '2021-03',
      audience: 'donor',
      principal: donor,
    });
    expect(released.rows).toEqual([]);
    expect(released.totals).toEqual([]);
  });

  it('refuses the counts two percentages share once one of them went out, and says what to do', () => {
    // This percentage has the built-in one's numerator and denominator, so no one table holds
    // every release of either: each table would hide their figures in its own way.
    expect(
      releaseNow(projection, data, {
        indicator: 'pct-followed-up-by-area',
        period: 'month',
        audience: 'donor',
        principal: donor,
      }).rows,
    ).toHaveLength(1);
    const refusal = (count: string) =>
      new RegExp(
        `would give the figures of "${count}" from (its own table|the table of the percentage "pct-cases-followed-up-within-7-days"), ` +
          'but they were released outside the programme from these read models from the table of the percentage "pct-followed-up-by-area".*' +
          `release "${count}" with one percentage it is part of at most, or, if the two will never reach the same readers, make this release from read models of its own`,
      );
    for (const [indicator, count] of [
      ['cases-disclosed', 'cases-disclosed'],
      ['cases-followed-up-within-7-days', 'cases-followed-up-within-7-days'],
      ['pct-cases-followed-up-within-7-days', 'cases-followed-up-within-7-days'],
    ] as const) {
      expect(() =>
        releaseNow(projection, data, {
          indicator,
          period: 'month',
          audience: 'public',
          principal: donor,
        }),
      ).toThrow(refusal(count));
    }
    // The same percentage by another period, to the public too, reads the same table; inside the
    // programme nothing is refused.
    expect(
      releaseNow(projection, data, {
        indicator: 'pct-followed-up-by-area',
        period: 'quarter',
        audience: 'public',
        principal: donor,
      }).rows,
    ).toHaveLength(1);
    expect(
      releaseNow(projection, data, {
        indicator: 'cases-disclosed',
        period: 'month',
        audience: 'internal',
        principal: analyst,
      }).rows[0]?.actual,
    ).toEqual({ value: 20 });
  });
});
