import { createMemoryEventStore, createMemoryReadModelStore } from '@lantern/adapters/memory';
import {
  isAccessDeniedError,
  isDisclosureError,
  type NewEvent,
  type Principal,
  type ReadModelStore,
} from '@lantern/core';
import { catalogEvent, childRegisteredData } from '@lantern/core/testing';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createProjectionEngine } from '../engine/projectionEngine.js';
import { builtInIndicators } from '../indicators/builtInIndicators.js';
import { createIndicatorProjection } from '../indicators/indicatorProjection.js';
import { createCaseFunnelProjection, releaseCaseFunnel } from './caseFunnel.js';
import { type IndicatorData, loadIndicatorData } from './indicatorValues.js';
import { type ReleasedValue, releaseNow } from './releaseIndicator.js';

/**
 * Sixteen cases: in January 6 girls (commune KH-12-06-01) and 2 boys (KH-12-06-02), in February
 * 7 girls and 1 boy (KH-12-09-01). Boys' counts are small, so a donor must not see them, nor
 * be able to work them out from the totals.
 */
const staff = 'st_00000000000000a1';
const analyst: Principal = { id: 'st_00000000000000e1', role: 'analyst', scope: { kind: 'programme' } };
const donor: Principal = { id: 'dn_00000000000000a1', role: 'donor' };
const service: Principal = { id: 'svc-sync-server', role: 'service' };
const event = (type: string, data: Record<string, unknown>, occurredAt: string): NewEvent =>
  catalogEvent(type, data, { occurredAt, recordedBy: staff });
const cases: [month: string, sex: 'female' | 'male', area: string, count: number][] = [
  ['2020-01', 'female', 'KH-12-06-01', 6],
  ['2020-01', 'male', 'KH-12-06-02', 2],
  ['2020-02', 'female', 'KH-12-09-01', 7],
  ['2020-02', 'male', 'KH-12-09-01', 1],
];
const truth: Record<string, number> = {
  '2020-01|female': 6,
  '2020-01|male': 2,
  '2020-02|female': 7,
  '2020-02|male': 1,
};

/** The indicator data of one CaseDisclosed (with its child registered) per case counted. */
const loadCases = async (
  projection: ReturnType<typeof createIndicatorProjection>,
  counted: readonly (readonly [
    month: string,
    sex: 'female' | 'male',
    area: string,
    count: number,
    /** How many of them were followed up the day they were disclosed; default none. */
    followedUp?: number,
    /** Why every one of them was closed, the day it was disclosed; default open. */
    closedFor?: string,
  ])[],
  readModels: ReadModelStore = createMemoryReadModelStore(),
): Promise<IndicatorData> => {
  const store = createMemoryEventStore();
  let n = 0;
  let last = 0n;
  for (const [month, sex, area, count, followedUp = 0, closedFor] of counted) {
    for (let i = 0; i < count; i += 1) {
      n += 1;
      const childRef = `ch_${String(n).padStart(16, '0')}`;
      const caseId = `PP-2020-${String(n).padStart(3, '0')}`;
      const on = `${month}-1${i % 9}T10:00:00+07:00`;
      await store.append(`child-${childRef}`, [
        event('ChildRegistered', childRegisteredData({ childRef, sex, ageBand: '12-17', area }), on),
      ]);
      last = (
        await store.append(`case-${caseId}`, [
          event(
            'CaseDisclosed',
            {
              programmeId: 'pp',
              caseId,
              childRef,
              sex,
              ageBand: '12-17',
              area,
              concerns: ['neglect'],
              disclosedVia: 'outreach',
            },
            on,
          ),
          ...(i < followedUp
            ? [event('CaseFollowedUp', { caseId, followedUpOn: on.slice(0, 10), kind: 'home-visit' }, on)]
            : []),
          ...(closedFor === undefined ? [] : [event('CaseClosed', { caseId, reason: closedFor }, on)]),
        ])
      ).position;
    }
  }
  const engine = createProjectionEngine({
    eventStore: store,
    readModels,
    projections: [projection, createCaseFunnelProjection({ timeZone: 'Asia/Phnom_Penh' })],
  });
  await engine.start();
  await engine.waitFor(last);
  await engine.stop();
  return loadIndicatorData(readModels, projection);
};

/**
 * An attacker of releases of the same counts by different periods. It knows every released
 * figure and that each adds up the months under it, that "<5" is 1…4 and any other hidden figure
 * 0 or 5 and more (but for a total partly hidden, which may be anything), and (stronger than a real one) that months with no case are 0. It tries every
 * value of the months not released exactly, and gives back the periods of the small figures it
 * pins to one value, how many small figures there were, and the exact figures that are not true.
 */
/** The months among `all` that a released figure adds up: its own, its quarter's, its year's, or all. */
const monthsUnder = (period: string, all: readonly string[]): string[] => {
  if (period === 'life' || period === 'total') return [...all];
  if (/^\d{4}$/.test(period)) return all.filter((month) => month.startsWith(period));
  const quarter = /^(\d{4})-Q([1-4])$/.exec(period);
  if (quarter) {
    const number = Number(quarter[2]);
    return all.filter(
      (month) =>
        month.startsWith(quarter[1] as string) && Math.floor((Number(month.slice(5)) - 1) / 3) + 1 === number,
    );
  }
  return all.filter((month) => month === period);
};

/** The first and last months a release was asked for. */
interface Range {
  readonly from: string;
  readonly to: string;
}

const attackAcrossPeriods = (
  byMonth: Readonly<Record<string, number>>,
  released: readonly { readonly period: string; readonly actual: ReleasedValue; readonly range?: Range }[],
) => {
  const all = Object.keys(byMonth);
  const monthsOf = (period: string, range?: Range): string[] =>
    monthsUnder(period, all).filter((month) => !range || (month >= range.from && month <= range.to));
  const facts = released.map((row) => ({ months: monthsOf(row.period, row.range), actual: row.actual }));
  const sumOf = (months: readonly string[], values: ReadonlyMap<string, number>) =>
    months.reduce((total, month) => total + (values.get(month) ?? 0), 0);
  const known = new Map<string, number>();
  for (const { months, actual } of facts) {
    if (months.length === 1 && !('suppressed' in actual))
      known.set(months[0] as string, actual.value as number);
  }
  const unknown = all.filter((month) => !known.has(month));
  const fits = (values: ReadonlyMap<string, number>) =>
    facts.every(({ months, actual }) => {
      const sum = sumOf(months, values);
      if (!('suppressed' in actual)) return sum === actual.value;
      if (actual.suppressed === 'partly-hidden') return true;
      return actual.suppressed === 'primary' ? sum >= 1 && sum <= 4 : sum === 0 || sum >= 5;
    });
  const seen = facts.map(() => new Set<number>());
  const tryFrom = (i: number, values: Map<string, number>): void => {
    if (i === unknown.length) {
      if (!fits(values)) return;
      for (const [f, { months }] of facts.entries()) seen[f]?.add(sumOf(months, values));
      return;
    }
    for (let value = 1; value <= 31; value += 1) {
      values.set(unknown[i] as string, value);
      tryFrom(i + 1, values);
    }
    values.delete(unknown[i] as string);
  };
  tryFrom(0, new Map(known));
  const truth = new Map(Object.entries(byMonth));
  const small = facts.flatMap((fact, f) =>
    'suppressed' in fact.actual && fact.actual.suppressed === 'primary' ? [f] : [],
  );
  return {
    small: small.length,
    pinned: small.filter((f) => (seen[f]?.size ?? 0) < 2).map((f) => released[f]?.period),
    untrue: facts.flatMap(({ months, actual }, f) =>
      !('suppressed' in actual) && actual.value !== sumOf(months, truth) ? [released[f]?.period] : [],
    ),
  };
};

/** A released figure: the cells it adds up, what it says of their sum, and at most how much that is. */
interface CellFigure {
  readonly cells: readonly number[];
  readonly holds: (sum: number, tried: readonly number[]) => boolean;
  readonly most?: number;
}

/**
 * An attacker's search: every count from 0 to 12 in each of `count` cells, against every figure
 * (checked as soon as its cells have counts, and bounding their sum before by its `most`). Gives
 * back the values each of `watched` (a set of cells) can take, stopping once each has taken two.
 */
const valuesTaken = (
  count: number,
  figures: readonly CellFigure[],
  watched: readonly (readonly number[])[],
): Set<number>[] => {
  const last = figures.map(({ cells }) => Math.max(-1, ...cells));
  const seen = watched.map(() => new Set<number>());
  const tried: number[] = [];
  const sumOf = (cells: readonly number[], below: number) =>
    cells.reduce((total, c) => total + (c < below ? (tried[c] ?? 0) : 0), 0);
  const tryFrom = (i: number): boolean => {
    for (const [f, figure] of figures.entries()) {
      const sum = sumOf(figure.cells, i);
      if (sum > (figure.most ?? Number.POSITIVE_INFINITY)) return false;
      if (last[f] === i - 1 && !figure.holds(sum, tried)) return false;
    }
    if (i === count) {
      for (const [w, cells] of watched.entries()) seen[w]?.add(sumOf(cells, i));
      return seen.every((values) => values.size >= 2);
    }
    for (let value = 0; value <= 12; value += 1) {
      tried[i] = value;
      if (tryFrom(i + 1)) return true;
    }
    return false;
  };
  tryFrom(0);
  return seen;
};

describe('indicator values released to an audience', () => {
  const projection = createIndicatorProjection({
    indicators: builtInIndicators,
    timeZone: 'Asia/Phnom_Penh',
  });
  let data: IndicatorData;

  beforeAll(async () => {
    data = await loadCases(projection, cases);
  });

  it('gives the programme its exact figures', () => {
    const released = releaseNow(projection, data, {
      indicator: 'cases-disclosed',
      period: 'month',
      by: ['data.sex'],
      audience: 'internal',
      principal: analyst,
    });
    expect(released.rows.map((r) => [r.period, r.dims['data.sex'], r.actual])).toEqual([
      ['2020-01', 'female', { value: 6 }],
      ['2020-01', 'male', { value: 2 }],
      ['2020-02', 'female', { value: 7 }],
      ['2020-02', 'male', { value: 1 }],
    ]);
    expect(released.suppression).toEqual({ primary: 0, secondary: 0 });
  });

  it('hides small counts from a donor, and enough besides that none can be worked back', () => {
    const released = releaseNow(projection, data, {
      indicator: 'cases-disclosed',
      period: 'month',
      by: ['data.sex'],
      audience: 'donor',
      principal: donor,
    });
    for (const row of released.rows) {
      const expected = truth[`${row.period}|${row.dims['data.sex']}`];
      if (row.dims['data.sex'] === 'male') expect(row.actual).toEqual({ value: '<5', suppressed: 'primary' });
      else if (!('suppressed' in row.actual)) expect(row.actual.value).toBe(expected);
    }
    // Boys' total over both months (3) is small too, and the girls' cells or the monthly totals
    // must not give the boys' counts away: January's total minus 6 girls would be 2 boys.
    const boysTotal = released.totals.find((t) => t.period === 'total' && t.dims['data.sex'] === 'male');
    expect(boysTotal?.actual).toEqual({ value: '<5', suppressed: 'primary' });
    for (const month of ['2020-01', '2020-02']) {
      const girls = released.rows.find((r) => r.period === month && r.dims['data.sex'] === 'female');
      const total = released.totals.find((t) => t.period === month && t.dims['data.sex'] === undefined);
      expect('suppressed' in (girls?.actual ?? {}) || 'suppressed' in (total?.actual ?? {})).toBe(true);
    }
    expect(released.suppression?.secondary).toBeGreaterThan(0);
  });

  it('coarsens areas for a donor to the policy level, adding up the communes', async () => {
    // Data of its own: from the data the other releases read, a policy of its own is refused.
    const released = releaseNow(projection, await loadCases(projection, cases), {
      indicator: 'cases-disclosed',
      period: 'life',
      by: ['data.area'],
      audience: 'donor',
      principal: donor,
      policy: { areaLevel: 2 },
    });
    expect(released.rows.map((r) => [r.dims['data.area'], r.actual])).toEqual([
      ['KH-12-06', { value: 8 }],
      ['KH-12-09', { value: 8 }],
    ]);
  });

  it('refuses a release with another policy from data already released outside the programme', () => {
    const release = (policy?: { finestPeriod: 'quarter' }) =>
      releaseNow(projection, data, {
        indicator: 'cases-disclosed',
        period: 'quarter',
        audience: 'donor',
        principal: donor,
        ...(policy === undefined ? {} : { policy }),
      });
    // The public reads the donor's protection: the same policy but for areas.
    const once = release();
    expect(
      releaseNow(projection, data, {
        indicator: 'cases-disclosed',
        period: 'quarter',
        audience: 'public',
        principal: donor,
      }).rows,
    ).toEqual(once.rows);
    // Protected by quarters alone, the figures could be hidden otherwise than by months.
    expect(() => release({ finestPeriod: 'quarter' })).toThrow(
      /Indicator "cases-disclosed" was released outside the programme from these read models with threshold 5, periods by month .* with threshold 5, periods by quarter .* Give every release outside the programme the same threshold and finest period/,
    );
  });

  it('refuses a donor internal figures before any work, saying which audience to ask for', () => {
    let refusal: unknown;
    try {
      releaseNow(projection, data, {
        indicator: 'cases-disclosed',
        audience: 'internal',
        principal: donor,
      });
    } catch (error) {
      refusal = error;
    }
    expect(isAccessDeniedError(refusal)).toBe(true);
    expect((refusal as Error).message).toMatch(/may not read internal figures.*ask for audience "donor"/);
  });

  it('gives the public the country only, by default', () => {
    const released = releaseNow(projection, data, {
      indicator: 'cases-disclosed',
      by: ['data.area'],
      audience: 'public',
      principal: service,
    });
    expect(released.rows.map((r) => [r.dims['data.area'], r.actual])).toEqual([['KH', { value: 16 }]]);
  });

  it('refuses a policy finer than the rules allow for an audience outside the programme', () => {
    let refusal: unknown;
    try {
      releaseNow(projection, data, {
        indicator: 'cases-disclosed',
        period: 'month',
        audience: 'donor',
        principal: donor,
        policy: { finestPeriod: 'day' },
      });
    } catch (error) {
      refusal = error;
    }
    expect(isDisclosureError(refusal)).toBe(true);
    expect((refusal as Error).message).toMatch(/periods no finer than a month/);
  });
});

/** The cases followed up, and all those disclosed, in the months a figure adds up. */
type FollowUpSums = (of: readonly string[]) => { followed: number; disclosed: number };

/** What one released figure says of the months under it. */
interface FollowUpFact {
  readonly months: readonly string[];
  readonly holds: (sums: FollowUpSums) => boolean;
}

/** Whether a count fits what a released figure says of it. */
const counted = (actual: ReleasedValue, count: number) =>
  !('suppressed' in actual)
    ? count === actual.value
    : actual.suppressed === 'primary'
      ? count >= 1 && count <= 4
      : actual.suppressed === 'partly-hidden' || count === 0 || count >= 5;

/**
 * An attacker of cases followed up: it tries every number followed up and not followed up in
 * each month, up to 15, against every released figure, and gives back the periods (each month,
 * quarter and year counted, and the total) whose number followed up, or not followed up, is
 * small and keeps fewer than two possible values.
 */
const pinnedFollowUps = (
  months: Readonly<Record<string, readonly [disclosed: number, followedUp: number]>>,
  facts: readonly FollowUpFact[],
): string[] => {
  const all = Object.keys(months);
  const periods = [
    ...new Set(
      all.flatMap((month) => [
        month,
        `${month.slice(0, 4)}-Q${Math.floor((Number(month.slice(5)) - 1) / 3) + 1}`,
        month.slice(0, 4),
      ]),
    ),
    'total',
  ];
  const monthsOf = (period: string): string[] => monthsUnder(period, all);
  const followed = new Map<string, number>();
  const missed = new Map<string, number>();
  const sums: FollowUpSums = (of) => {
    let f = 0;
    let m = 0;
    for (const month of of) {
      f += followed.get(month) ?? 0;
      m += missed.get(month) ?? 0;
    }
    return { followed: f, disclosed: f + m };
  };
  const possible = new Map<string, Set<string>>();
  const tryFrom = (i: number): void => {
    const settled = all.slice(0, i);
    for (const fact of facts) {
      if (fact.months.every((month) => settled.includes(month)) && !fact.holds(sums)) return;
    }
    if (i === all.length) {
      for (const period of periods) {
        const { followed: f, disclosed: d } = sums(monthsOf(period));
        const seen = possible.get(period) ?? new Set<string>();
        seen.add(`${f}/${d - f}`);
        possible.set(period, seen);
      }
      return;
    }
    for (let f = 0; f <= 15; f += 1) {
      for (let m = 0; m <= 15; m += 1) {
        followed.set(all[i] as string, f);
        missed.set(all[i] as string, m);
        tryFrom(i + 1);
      }
    }
    followed.delete(all[i] as string);
    missed.delete(all[i] as string);
  };
  tryFrom(0);
  expect(possible.size).toBeGreaterThan(0);
  // Where the number followed up, or not followed up, is small, it keeps two possible values.
  return [...possible].flatMap(([period, seen]) => {
    let truthFollowed = 0;
    let truthMissed = 0;
    for (const month of monthsOf(period)) {
      const [disclosed = 0, followedUp = 0] = months[month] ?? [];
      truthFollowed += followedUp;
      truthMissed += disclosed - followedUp;
    }
    const small = (n: number) => n >= 1 && n <= 4;
    const values = [...seen].map((pair) => pair.split('/').map(Number));
    return (small(truthFollowed) && new Set(values.map(([f]) => f)).size < 2) ||
      (small(truthMissed) && new Set(values.map(([, m]) => m)).size < 2)
      ? [period]
      : [];
  });
};

describe('releases of one indicator by different periods', () => {
  const projection = createIndicatorProjection({
    indicators: builtInIndicators,
    timeZone: 'Asia/Phnom_Penh',
  });
  /** Cases by month: 2019 holds 1 + 7, so its year total and its third quarter would give the 1 away. */
  const byMonth: Readonly<Record<string, number>> = {
    '2019-05': 1,
    '2019-08': 7,
    '2020-02': 5,
    '2020-05': 14,
    '2020-08': 4,
  };
  let data: IndicatorData;
  /**
   * The funnel's read models, of the same cases: released outside the programme from the read
   * models `data` was loaded from, after an indicator about cases, the funnel would be refused.
   */
  const readModels = createMemoryReadModelStore();

  beforeAll(async () => {
    const counted = Object.entries(byMonth).map(
      ([month, count]) => [month, 'female', 'KH-12-06-01', count] as const,
    );
    data = await loadCases(projection, counted);
    await loadCases(projection, counted, readModels);
  });

  /**
   * Cases disclosed and followed up within 7 days, by month. In 2019 the third quarter's 2 not
   * followed up would follow from the year's percentage and the second quarter's, with the cases
   * disclosed (released as counts: 10, 8 and 18) to multiply them by.
   */
  const followUps: Readonly<Record<string, readonly [disclosed: number, followedUp: number]>> = {
    '2019-05': [10, 5],
    '2019-08': [8, 6],
    '2020-02': [9, 9],
    '2020-05': [12, 6],
  };
  const loadFollowUps = () =>
    loadCases(
      projection,
      Object.entries(followUps).map(
        ([month, [disclosed, followedUp]]) =>
          [month, 'female', 'KH-12-06-01', disclosed, followedUp] as const,
      ),
    );

  /** Every row and total of the indicator released to a donor by month, quarter, year and life. */
  const releasedByEveryPeriod = (from: IndicatorData, indicator: string) =>
    (['month', 'quarter', 'year', 'life'] as const).flatMap((period) => {
      const release = releaseNow(projection, from, {
        indicator,
        period,
        audience: 'donor',
        principal: donor,
      });
      return [...release.rows, ...release.totals];
    });

  it('lets no small count be worked out from the month, quarter, year and life releases together', () => {
    const attack = attackAcrossPeriods(byMonth, releasedByEveryPeriod(data, 'cases-disclosed'));
    expect(attack.small).toBeGreaterThan(0);
    expect(attack).toEqual({ small: attack.small, pinned: [], untrue: [] });
  });

  it('does the same for the case funnel, stage by stage', async () => {
    const funnels = await Promise.all(
      (['month', 'quarter', 'year', 'life'] as const).map((period) =>
        releaseCaseFunnel(readModels, { audience: 'donor', principal: donor, period }),
      ),
    );
    const disclosed = funnels.flat().map((row) => ({
      period: row.period,
      actual: row.steps.find((step) => step.stage === 'disclosed')?.cases as ReleasedValue,
    }));
    const attack = attackAcrossPeriods(byMonth, disclosed);
    expect(attack.small).toBeGreaterThan(0);
    expect(attack).toEqual({ small: attack.small, pinned: [], untrue: [] });
  });

  /** Ranges a donor might ask for: every run of whole quarters over the two years, and some of months. */
  const ranges: Range[] = [
    ...['2019', '2020']
      .flatMap((year) => ['01', '04', '07', '10'].map((month) => `${year}-${month}`))
      .flatMap((from, i, starts) =>
        starts.slice(i).map((start) => {
          const [year, month] = start.split('-').map(Number) as [number, number];
          return { from, to: `${year}-${String(month + 2).padStart(2, '0')}` };
        }),
      ),
    { from: '2019-05', to: '2019-08' },
    { from: '2019-06', to: '2019-08' },
    { from: '2019-05', to: '2019-09' },
    { from: '2020-03', to: '2020-08' },
  ];

  it('lets no small count be worked out from releases over different ranges', () => {
    // Over April to September 2019 the total is 8; over the third quarter alone, 7: released
    // each from a protection of its own months, the two gave the second quarter's 1 away.
    const overRanges = ranges.flatMap((range) => {
      const released = releaseNow(projection, data, {
        indicator: 'cases-disclosed',
        period: 'life',
        ...range,
        audience: 'donor',
        principal: donor,
      });
      return [...released.rows, ...released.totals].map((row) => ({ ...row, range }));
    });
    expect(overRanges.some((row) => !('suppressed' in row.actual))).toBe(true);
    const attack = attackAcrossPeriods(byMonth, [
      ...releasedByEveryPeriod(data, 'cases-disclosed'),
      ...overRanges,
    ]);
    expect(attack.small).toBeGreaterThan(0);
    expect(attack).toEqual({ small: attack.small, pinned: [], untrue: [] });
  });

  it('does the same for the case funnel over different ranges', async () => {
    const funnels = await Promise.all(
      ranges.map(async (range) =>
        (
          await releaseCaseFunnel(readModels, {
            audience: 'donor',
            principal: donor,
            period: 'life',
            ...range,
          })
        ).map((row) => ({ ...row, range })),
      ),
    );
    const whole = await Promise.all(
      (['month', 'quarter', 'year', 'life'] as const).map((period) =>
        releaseCaseFunnel(readModels, { audience: 'donor', principal: donor, period }),
      ),
    );
    const disclosed = [...funnels.flat(), ...whole.flat()].map((row) => ({
      period: row.period,
      actual: row.steps.find((step) => step.stage === 'disclosed')?.cases as ReleasedValue,
      ...('range' in row ? { range: row.range as Range } : {}),
    }));
    const attack = attackAcrossPeriods(byMonth, disclosed);
    expect(attack.small).toBeGreaterThan(0);
    expect(attack).toEqual({ small: attack.small, pinned: [], untrue: [] });
  });

  it('hides a total over part of the months when a period under it is hidden, saying it may be of any size', async () => {
    // April to September 2019: 18 cases disclosed, 11 followed up. The third quarter's 2 not
    // followed up are hidden, and with them the percentage over the two quarters: anyone could
    // add up released quarters, not a quarter hidden.
    const family = await loadFollowUps();
    // Released over every month first, so that they went out as one vintage (a first release from
    // April to September alone would make those months a vintage of their own, and their total one
    // of its figures).
    releaseNow(projection, family, {
      indicator: 'pct-cases-followed-up-within-7-days',
      period: 'quarter',
      audience: 'donor',
      principal: donor,
    });
    const overRange = (indicator: string) =>
      releaseNow(projection, family, {
        indicator,
        period: 'life',
        from: '2019-04',
        to: '2019-09',
        audience: 'donor',
        principal: donor,
      }).rows.map((row) => row.actual);
    expect(overRange('pct-cases-followed-up-within-7-days')).toEqual([
      { value: null, suppressed: 'partly-hidden' },
    ]);
    const byQuarter = releaseNow(projection, family, {
      indicator: 'pct-cases-followed-up-within-7-days',
      period: 'quarter',
      from: '2019-04',
      to: '2019-09',
      audience: 'donor',
      principal: donor,
    });
    expect(byQuarter.rows.map((row) => [row.period, 'suppressed' in row.actual])).toEqual([
      ['2019-Q2', false],
      ['2019-Q3', true],
    ]);
  });

  it('refuses a range that cuts a period asked for, saying which months to ask from', () => {
    const ask = (period: 'quarter' | 'year', from: string, to: string) => () =>
      releaseNow(projection, data, {
        indicator: 'cases-disclosed',
        period,
        from,
        to,
        audience: 'donor',
        principal: donor,
      });
    expect(ask('quarter', '2019-02', '2019-12')).toThrow(
      /cannot go to a donor by quarter from 2019-02: 2019-Q1 would be counted in part.* Ask from 2019-01 or from 2019-04\./,
    );
    // A count that is part of no percentage is refused alike, before its figures are counted.
    expect(() =>
      releaseNow(projection, data, {
        indicator: 'children-placed-family-care',
        period: 'quarter',
        from: '2019-02',
        audience: 'donor',
        principal: donor,
      }),
    ).toThrow(/Indicator "children-placed-family-care" cannot go to a donor by quarter from 2019-02/);
    expect(ask('year', '2019-01', '2020-06')).toThrow(
      /by year to 2020-06: .* Ask to 2020-12 or to 2019-12\./,
    );
    // Whole quarters and years are released; the internal table is not limited.
    expect(ask('quarter', '2019-04', '2019-09')().rows.map((row) => row.period)).toEqual([
      '2019-Q2',
      '2019-Q3',
    ]);
    expect(ask('year', '2020-01', '2020-12')().rows.map((row) => row.period)).toEqual(['2020']);
  });

  it('refuses months when they cannot be protected with their totals, and reads coarser periods from one protection', async () => {
    // One case a month: the quarter of three is "<5" and so is the year of four, so each month
    // and quarter could be worked out (three months of at least 1 under a first quarter of at most
    // 3) whatever else were hidden; by quarter they can be protected.
    const counted = [
      ['2020-01', 'female', 'KH-12-06-01', 1],
      ['2020-02', 'female', 'KH-12-06-01', 1],
      ['2020-03', 'female', 'KH-12-06-01', 1],
      ['2020-04', 'female', 'KH-12-06-01', 1],
    ] as const;
    const bySexAndArea = await loadCases(projection, counted);
    const release = (period: 'month' | 'quarter' | 'year') =>
      releaseNow(projection, bySexAndArea, {
        indicator: 'cases-disclosed',
        period,
        by: ['data.sex', 'data.area'],
        audience: 'donor',
        principal: donor,
      });
    let refusal: unknown;
    try {
      release('month');
    } catch (error) {
      refusal = error;
    }
    expect(isDisclosureError(refusal)).toBe(true);
    expect((refusal as Error).message).toMatch(
      /Indicator "cases-disclosed" by data.sex, data.area cannot go to a donor by month: .* Ask for it by quarter or coarser\./,
    );
    const truthOf = (period: string, dims: Readonly<Record<string, string>>) =>
      counted
        .filter(
          ([month, sex, area]) =>
            (period === 'total' || month.startsWith(period.slice(0, 4))) &&
            (!period.includes('Q') ||
              `Q${Math.floor((Number(month.slice(5)) - 1) / 3) + 1}` === period.slice(5)) &&
            (dims['data.sex'] === undefined || dims['data.sex'] === sex) &&
            (dims['data.area'] === undefined || dims['data.area'] === area.slice(0, 5)),
        )
        .reduce((total, [, , , count]) => total + count, 0);
    for (const period of ['quarter', 'year'] as const) {
      const released = release(period);
      expect(released.rows.length).toBeGreaterThan(0);
      for (const row of [...released.rows, ...released.totals]) {
        const truth = truthOf(row.period, row.dims);
        if (!('suppressed' in row.actual))
          expect([row.period, row.dims, row.actual.value]).toEqual([row.period, row.dims, truth]);
        else if (row.actual.suppressed === 'primary') expect(truth >= 1 && truth <= 4).toBe(true);
        else expect(truth === 0 || truth >= 5).toBe(true);
      }
    }
  });

  it('lets no small part of a percentage be worked out from its releases by period and its denominators', async () => {
    const months = followUps;
    const percentages = await loadFollowUps();
    const released = releasedByEveryPeriod(percentages, 'pct-cases-followed-up-within-7-days');
    // The attacker knows every released percentage and (stronger than a real one) every month's
    // cases disclosed; it tries every number followed up in each month.
    const all = Object.keys(months);
    const monthsOf = (period: string): string[] => monthsUnder(period, all);
    const disclosedIn = (period: string) =>
      monthsOf(period).reduce((total, month) => total + (months[month]?.[0] ?? 0), 0);
    const facts = released.flatMap((row) =>
      'suppressed' in row.actual || typeof row.actual.value !== 'number'
        ? []
        : [
            {
              months: monthsOf(row.period),
              followedUp: Math.round((row.actual.value * disclosedIn(row.period)) / 100),
            },
          ],
    );
    const followedUpIn = (period: readonly string[], values: readonly number[]) =>
      period.reduce((total, month) => total + (values[all.indexOf(month)] ?? 0), 0);
    const possible = new Map<string, Set<number>>();
    const tryFrom = (i: number, values: number[]): void => {
      if (i === all.length) {
        if (!facts.every((fact) => followedUpIn(fact.months, values) === fact.followedUp)) return;
        for (const row of released) {
          const seen = possible.get(row.period) ?? new Set<number>();
          seen.add(followedUpIn(monthsOf(row.period), values));
          possible.set(row.period, seen);
        }
        return;
      }
      for (let value = 0; value <= (months[all[i] as string]?.[0] ?? 0); value += 1) {
        values[i] = value;
        tryFrom(i + 1, values);
      }
    };
    tryFrom(0, []);
    const truth = all.map((month) => months[month]?.[1] ?? 0);
    // Every period whose followed-up or not-followed-up count is small keeps two possible values.
    const small = [...possible.keys()].filter((period) => {
      const followed = followedUpIn(monthsOf(period), truth);
      const not = disclosedIn(period) - followed;
      return (followed >= 1 && followed <= 4) || (not >= 1 && not <= 4);
    });
    expect(small.length).toBeGreaterThan(0);
    expect(small.filter((period) => (possible.get(period)?.size ?? 0) < 2)).toEqual([]);
  });

  it('lets no small count be worked out from releases by different breakdowns together', async () => {
    // One month's cases by sex and province. Released each from a protection of its own, the
    // table by sex and province hid its total of 6 (and enough else to keep the 1s apart), the
    // release without a breakdown gave the 6, and with it a girl's 1 and a boy's 1 and 4 followed.
    // From one protection of both dimensions, what is released together gives none away.
    const cells = [
      ['female', 'KH-12-06-01', 1],
      ['male', 'KH-09-01-01', 4],
      ['male', 'KH-01-01-01', 1],
    ] as const;
    const bySexAndArea = await loadCases(
      projection,
      cells.map(([sex, area, count]) => ['2020-03', sex, area, count] as const),
    );
    const province = (area: string) => area.slice(0, 5);
    const breakdowns = [[], ['data.sex'], ['data.area'], ['data.sex', 'data.area']];
    const refused: string[] = [];
    const released = breakdowns.flatMap((by) =>
      (['month', 'quarter', 'year', 'life'] as const).flatMap((period) => {
        try {
          const release = releaseNow(projection, bySexAndArea, {
            indicator: 'cases-disclosed',
            period,
            by,
            audience: 'donor',
            principal: donor,
          });
          return [...release.rows, ...release.totals];
        } catch (error) {
          // A breakdown the one protection could not keep is refused, and gives nothing away.
          if (!isDisclosureError(error)) throw error;
          refused.push([period, ...by].join(' by '));
          return [];
        }
      }),
    );
    // The attacker knows every released figure and which cells it adds up (each period holds the
    // one month), that "<5" is 1…4 and any other hidden figure 0 or 5 and more, and (stronger
    // than a real one) which cells are 0. It tries every value of the others.
    const under = released.map((row) =>
      cells.flatMap(([sex, area], i) =>
        (row.dims['data.sex'] ?? sex) === sex && (row.dims['data.area'] ?? province(area)) === province(area)
          ? [i]
          : [],
      ),
    );
    const seen = released.map(() => new Set<number>());
    const values: number[] = [];
    const tryFrom = (i: number): void => {
      if (i === cells.length) {
        const sums = under.map((of) => of.reduce((total, cell) => total + (values[cell] ?? 0), 0));
        if (!released.every((row, r) => counted(row.actual, sums[r] as number))) return;
        for (const [r, sum] of sums.entries()) seen[r]?.add(sum);
        return;
      }
      for (let value = 1; value <= 31; value += 1) {
        values[i] = value;
        tryFrom(i + 1);
      }
    };
    tryFrom(0);
    const small = released.flatMap((row, r) =>
      'suppressed' in row.actual && row.actual.suppressed === 'primary' ? [r] : [],
    );
    expect(small.length).toBeGreaterThan(0);
    expect(
      small.filter((r) => (seen[r]?.size ?? 0) < 2).map((r) => [released[r]?.period, released[r]?.dims]),
    ).toEqual([]);
    // The total and the provinces go out. By sex, the girl's 1 would follow from the total and
    // the boys' 5 unless the total were hidden: that breakdown is given up, and refused.
    expect(refused).toEqual([
      'month by data.sex',
      'quarter by data.sex',
      'year by data.sex',
      'life by data.sex',
      'month by data.sex by data.area',
      'quarter by data.sex by data.area',
      'year by data.sex by data.area',
      'life by data.sex by data.area',
    ]);
  });

  it('refuses a breakdown whose labels alone would give the counts away, naming those it can give', async () => {
    // One case in each of four provinces: four "<5" under a total of "<5" can only be 1 each.
    const scattered = await loadCases(
      projection,
      ['KH-12-06-01', 'KH-09-01-01', 'KH-01-01-01', 'KH-02-01-01'].map(
        (area) => ['2020-03', 'female', area, 1] as const,
      ),
    );
    let refusal: unknown;
    try {
      releaseNow(projection, scattered, {
        indicator: 'cases-disclosed',
        period: 'life',
        by: ['data.area'],
        audience: 'donor',
        principal: donor,
      });
    } catch (error) {
      refusal = error;
    }
    expect(isDisclosureError(refusal)).toBe(true);
    expect((refusal as Error).message).toMatch(
      /^Indicator "cases-disclosed" cannot go to a donor by data.area: .* Ask for it by data.sex, data.ageBand or without a breakdown,/,
    );
    expect((refusal as Error).message).not.toMatch(/\(year\)|\(quarter\)|\(part/);
    // Without the breakdown, the four go out as "<5".
    const total = releaseNow(projection, scattered, {
      indicator: 'cases-disclosed',
      period: 'life',
      audience: 'donor',
      principal: donor,
    });
    expect(total.rows.map((row) => row.actual)).toEqual([{ value: '<5', suppressed: 'primary' }]);
  });

  it('gives a donor the funnel of a programme with no case yet as zeros', async () => {
    const empty = createMemoryReadModelStore();
    await loadCases(projection, [], empty);
    const funnel = await releaseCaseFunnel(empty, { audience: 'donor', principal: donor, period: 'quarter' });
    expect(funnel).toEqual([
      {
        period: 'total',
        steps: ['disclosed', 'followedUp', 'referred', 'placed', 'closed'].map((stage) => ({
          stage,
          cases: { value: 0 },
          medianDaysFromPrevious: null,
        })),
      },
    ]);
  });

  it('releases a percentage, its numerator and its denominator from one table, so together they pin nothing', async () => {
    const family = await loadFollowUps();
    const monthsOf = (period: string): string[] => monthsUnder(period, Object.keys(followUps));
    // What each released figure says of the months under it.
    const facts: FollowUpFact[] = [];
    for (const row of releasedByEveryPeriod(family, 'cases-followed-up-within-7-days')) {
      const of = monthsOf(row.period);
      facts.push({ months: of, holds: (sums) => counted(row.actual, sums(of).followed) });
    }
    for (const row of releasedByEveryPeriod(family, 'cases-disclosed')) {
      const of = monthsOf(row.period);
      facts.push({ months: of, holds: (sums) => counted(row.actual, sums(of).disclosed) });
    }
    for (const row of releasedByEveryPeriod(family, 'pct-cases-followed-up-within-7-days')) {
      if ('suppressed' in row.actual || typeof row.actual.value !== 'number') continue;
      const of = monthsOf(row.period);
      const percent = row.actual.value;
      facts.push({
        months: of,
        holds: (sums) => {
          const { followed, disclosed } = sums(of);
          return disclosed > 0 && Math.abs((100 * followed) / disclosed - percent) < 1e-9;
        },
      });
    }
    expect(pinnedFollowUps(followUps, facts)).toEqual([]);
  });

  it('hides the cases a funnel stage leaves out, as the stage itself', async () => {
    // The case funnel released its stages each from a table of its own: in the third quarter of
    // 2019, 8 cases disclosed and 6 followed up gave the 2 not followed up away.
    const readModels = createMemoryReadModelStore();
    await loadCases(
      projection,
      Object.entries(followUps).map(
        ([month, [disclosed, followedUp]]) =>
          [month, 'female', 'KH-12-06-01', disclosed, followedUp] as const,
      ),
      readModels,
    );
    const monthsOf = (period: string): string[] => monthsUnder(period, Object.keys(followUps));
    const facts: FollowUpFact[] = [];
    for (const period of ['month', 'quarter', 'year', 'life'] as const) {
      for (const row of await releaseCaseFunnel(readModels, {
        audience: 'donor',
        principal: donor,
        period,
      })) {
        const of = monthsOf(row.period);
        for (const step of row.steps) {
          if (step.stage === 'disclosed')
            facts.push({ months: of, holds: (sums) => counted(step.cases, sums(of).disclosed) });
          if (step.stage === 'followedUp')
            facts.push({ months: of, holds: (sums) => counted(step.cases, sums(of).followed) });
        }
      }
    }
    expect(pinnedFollowUps(followUps, facts)).toEqual([]);
  });
});

describe('the case funnel or the indicators about cases, outside the programme', () => {
  // They count the same cases in tables of their own, which may hide different figures.
  const projection = createIndicatorProjection({
    indicators: builtInIndicators,
    timeZone: 'Asia/Phnom_Penh',
  });
  const funnelTo = (readModels: ReadModelStore, audience: 'donor' | 'public' | 'internal' = 'donor') =>
    releaseCaseFunnel(readModels, {
      audience,
      principal: audience === 'internal' ? analyst : donor,
      period: 'quarter',
    });
  const release = (
    data: IndicatorData,
    indicator: string,
    audience: 'donor' | 'public' | 'internal' = 'donor',
  ) =>
    releaseNow(projection, data, {
      indicator,
      period: 'quarter',
      audience,
      principal: audience === 'internal' ? analyst : donor,
    });

  it('refuses an indicator about cases from read models the funnel went out from', async () => {
    const readModels = createMemoryReadModelStore();
    const data = await loadCases(projection, cases, readModels);
    const funnel = await funnelTo(readModels);
    for (const indicator of ['cases-disclosed', 'pct-cases-followed-up-within-7-days', 'referrals-made']) {
      for (const audience of ['donor', 'public'] as const) {
        expect(() => release(data, indicator, audience)).toThrow(
          new RegExp(
            `Indicator "${indicator}" counts the cases the case funnel counts, and the funnel was released outside ` +
              'the programme from these read models.*release the case funnel or the indicators about cases, not both',
          ),
        );
      }
    }
    // Inside the programme nothing is refused; nor what counts no case, nor a median.
    expect(release(data, 'cases-disclosed', 'internal').rows.map((row) => row.actual)).toEqual([
      { value: 16 },
    ]);
    for (const indicator of ['children-reached-night-outreach', 'median-days-disclosure-to-placement']) {
      expect(() => release(data, indicator)).not.toThrow();
    }
    // The funnel itself goes out again, as before.
    expect(await funnelTo(readModels, 'public')).toEqual(funnel);
  });

  it('refuses the funnel from read models an indicator about cases went out from, and only from them', async () => {
    const readModels = createMemoryReadModelStore();
    const data = await loadCases(projection, cases, readModels);
    const released = release(data, 'cases-disclosed');
    await expect(funnelTo(readModels, 'public')).rejects.toSatisfy(isDisclosureError);
    await expect(funnelTo(readModels)).rejects.toThrow(
      /The case funnel counts the cases that indicator "cases-disclosed" counts, and that indicator was released outside the programme from these read models.*A release meant for readers who will never see the other may be made from read models of its own/,
    );
    // Refused, the funnel bound nothing: the indicators about cases still go out.
    expect(release(data, 'cases-disclosed', 'public').rows).toEqual(released.rows);
    expect(() => release(data, 'children-placed-family-care')).not.toThrow();
    const [internal] = await funnelTo(readModels, 'internal');
    expect(internal?.steps[0]?.cases).toEqual({ value: 16 });
    // Read models of their own (another store, for readers who never see the indicators).
    const other = createMemoryReadModelStore();
    await loadCases(projection, cases, other);
    expect((await funnelTo(other)).at(-1)?.steps[0]?.cases).toEqual({ value: 16 });
  });
});

describe('a count by a dimension that pins its percentage’s numerator', () => {
  const projection = createIndicatorProjection({
    indicators: builtInIndicators,
    timeZone: 'Asia/Phnom_Penh',
  });
  const reasons = ['goals-met', 'transferred', 'lost-contact'] as const;
  type Reason = (typeof reasons)[number];

  /** Cases closed, each disclosed (with its child registered) the day it is closed. */
  const loadClosures = (closed: Readonly<Record<string, Readonly<Record<Reason, number>>>>) =>
    loadCases(
      projection,
      Object.entries(closed).flatMap(([month, byReason]) =>
        reasons.map((reason) => [month, 'female', 'KH-12-06-01', byReason[reason], 0, reason] as const),
      ),
    );

  /**
   * An attacker of cases closed by month and reason ({@link valuesTaken}). Gives back how many
   * figures of the truth, by period and reason (or all reasons, or all but goals met), are small,
   * and those of them that keep fewer than two possible values.
   */
  const pinnedClosures = (
    closed: Readonly<Record<string, Readonly<Record<Reason, number>>>>,
    facts: readonly CellFigure[],
    watched: readonly { readonly name: string; readonly cells: readonly number[] }[],
  ): { small: number; pinned: string[] } => {
    const truth = Object.values(closed).flatMap((byReason) => reasons.map((reason) => byReason[reason]));
    const small = watched.filter(({ cells }) => {
      const sum = cells.reduce((total, c) => total + (truth[c] ?? 0), 0);
      return sum >= 1 && sum <= 4;
    });
    const seen = valuesTaken(
      truth.length,
      facts,
      small.map(({ cells }) => cells),
    );
    return {
      small: small.length,
      pinned: small.flatMap(({ name }, w) => ((seen[w]?.size ?? 0) < 2 ? [name] : [])),
    };
  };

  /** Every release to a donor of cases closed by reason, those closed with goals met, and the percentage. */
  const releasedClosures = (
    data: IndicatorData,
    closed: Readonly<Record<string, Readonly<Record<Reason, number>>>>,
  ) => {
    const all = Object.keys(closed);
    const cellsOf = (period: string, reason?: string) =>
      monthsUnder(period, all).flatMap((month) =>
        reasons.flatMap((r, j) => (reason === undefined || reason === r ? [all.indexOf(month) * 3 + j] : [])),
      );
    const facts: CellFigure[] = [];
    for (const period of ['month', 'quarter', 'year', 'life'] as const) {
      const release = (indicator: string, by: string[] = []) =>
        releaseNow(projection, data, { indicator, period, by, audience: 'donor', principal: donor });
      const byReason = release('cases-closed', ['data.reason']);
      for (const row of [...byReason.rows, ...byReason.totals]) {
        const cells = cellsOf(row.period, row.dims['data.reason']);
        facts.push({ cells, holds: (sum) => counted(row.actual, sum) });
      }
      const goalsMet = release('cases-closed-goals-met');
      for (const row of [...goalsMet.rows, ...goalsMet.totals]) {
        const cells = cellsOf(row.period, 'goals-met');
        facts.push({ cells, holds: (sum) => counted(row.actual, sum) });
      }
      for (const row of release('pct-cases-closed-goals-met').rows) {
        if ('suppressed' in row.actual || typeof row.actual.value !== 'number') continue;
        const cells = cellsOf(row.period);
        const met = cellsOf(row.period, 'goals-met');
        const percent = row.actual.value;
        facts.push({
          cells,
          holds: (sum, tried) =>
            sum > 0 && Math.abs((100 * met.reduce((t, c) => t + (tried[c] ?? 0), 0)) / sum - percent) < 1e-9,
        });
      }
    }
    const watched = [
      ...all,
      ...new Set(all.map((month) => `${month.slice(0, 4)}-Q${Math.ceil(Number(month.slice(5)) / 3)}`)),
      'life',
    ].flatMap((period) => [
      { name: `${period} all`, cells: cellsOf(period) },
      ...reasons.map((reason) => ({ name: `${period} ${reason}`, cells: cellsOf(period, reason) })),
      { name: `${period} not goals-met`, cells: cellsOf(period).filter((c) => c % 3 !== 0) },
    ]);
    return { facts, watched };
  };

  it('reads the count by that dimension from the percentage’s table, so together they pin nothing', async () => {
    // Protected apart, the table by reason and the percentage's table gave away the one case
    // transferred in April (the only one that month not closed with goals met), in April and in
    // the second quarter, from the totals of one and the cells of the other.
    const closed = {
      '2020-01': { 'goals-met': 5, transferred: 3, 'lost-contact': 2 },
      '2020-02': { 'goals-met': 7, transferred: 4, 'lost-contact': 2 },
      '2020-03': { 'goals-met': 6, transferred: 4, 'lost-contact': 3 },
      '2020-04': { 'goals-met': 5, transferred: 1, 'lost-contact': 0 },
    };
    const data = await loadClosures(closed);
    const { facts, watched } = releasedClosures(data, closed);
    const { small, pinned } = pinnedClosures(closed, facts, watched);
    expect(small).toBeGreaterThan(0);
    expect(pinned).toEqual([]);
  });
});

describe('releases to a donor and to the public together', () => {
  const projection = createIndicatorProjection({
    indicators: builtInIndicators,
    timeZone: 'Asia/Phnom_Penh',
  });
  const months = ['2020-01', '2020-02'] as const;
  const sexes = ['female', 'male'] as const;
  const communes = ['KH-12-06-01', 'KH-09-01-01', 'KH-01-01-01'] as const;
  /** Every cell the cases can fall in: a month, a sex and a commune. */
  const cellsAll = months.flatMap((month) =>
    sexes.flatMap((sex) => communes.map((commune) => [month, sex, commune] as const)),
  );

  /**
   * Releases `cases-disclosed` to a donor (provinces) and to the public (the country) by every
   * breakdown and period, and attacks them together. The attacker knows every released figure and
   * which cells it adds up, that "<5" is 1…4 and any other hidden figure 0 or 5 and more, and tries
   * every count from 0 to 12 in every cell (a figure checked as soon as its cells have counts, and
   * bounding them before). Gives back the small figures that keep fewer than two possible values,
   * and how many small figures there were.
   */
  const attack = async (counts: readonly number[]) => {
    const data = await loadCases(
      projection,
      cellsAll.flatMap(([month, sex, commune], i) =>
        (counts[i] ?? 0) > 0 ? [[month, sex, commune, counts[i] as number] as const] : [],
      ),
    );
    const released: {
      audience: string;
      period: string;
      dims: Record<string, string>;
      actual: ReleasedValue;
    }[] = [];
    for (const audience of ['donor', 'public'] as const) {
      for (const by of [[], ['data.sex'], ['data.area'], ['data.sex', 'data.area']]) {
        for (const period of ['month', 'quarter', 'year', 'life'] as const) {
          try {
            const release = releaseNow(projection, data, {
              indicator: 'cases-disclosed',
              period,
              by,
              audience,
              principal: donor,
            });
            for (const row of [...release.rows, ...release.totals]) released.push({ audience, ...row });
          } catch (error) {
            // A breakdown the protection gave up is refused, and gives nothing away.
            if (!isDisclosureError(error)) throw error;
          }
        }
      }
    }
    const under = released.map((row) =>
      cellsAll.flatMap(([month, sex, commune], i) => {
        const area = row.dims['data.area'];
        return (/^\d{4}-\d{2}$/.test(row.period) ? row.period === month : true) &&
          (row.dims['data.sex'] ?? sex) === sex &&
          (area === undefined || commune.startsWith(area))
          ? [i]
          : [];
      }),
    );
    const small = released.flatMap(({ actual }, r) =>
      'suppressed' in actual && actual.suppressed === 'primary' ? [r] : [],
    );
    const seen = valuesTaken(
      cellsAll.length,
      released.map(({ actual }, r) => ({
        cells: under[r] as number[],
        holds: (sum: number) => counted(actual, sum),
        most: !('suppressed' in actual)
          ? (actual.value as number)
          : actual.suppressed === 'primary'
            ? 4
            : Number.POSITIVE_INFINITY,
      })),
      small.map((r) => under[r] as number[]),
    );
    return {
      small: small.length,
      pinned: small
        .filter((_, w) => (seen[w]?.size ?? 0) < 2)
        .map((r) => `${released[r]?.audience} ${released[r]?.period} ${JSON.stringify(released[r]?.dims)}`),
    };
  };

  it('reads the public’s countries from the donor’s protection, so together they pin nothing', async () => {
    // Protected each for its own areas, the public's table by sex and the donor's by sex and
    // province hid different figures: together they gave away a boy's count in January and a
    // girl's in February, among others.
    const counts = [2, 2, 2, 0, 0, 4, 1, 0, 0, 0, 4, 4];
    const { small, pinned } = await attack(counts);
    expect(small).toBeGreaterThan(0);
    expect(pinned).toEqual([]);
    // The public is given the country, with what its provinces add up to.
    const data = await loadCases(
      projection,
      cellsAll.flatMap(([month, sex, commune], i) =>
        (counts[i] ?? 0) > 0 ? [[month, sex, commune, counts[i] as number] as const] : [],
      ),
    );
    const byArea = releaseNow(projection, data, {
      indicator: 'cases-disclosed',
      period: 'quarter',
      by: ['data.area'],
      audience: 'public',
      principal: donor,
    });
    expect(byArea.rows.map((row) => [row.period, row.dims, row.actual])).toEqual([
      ['2020-Q1', { 'data.area': 'KH' }, { value: 19 }],
    ]);
  });

  it('gives the public each country as what its provinces add up to, when they lie in more than one', async () => {
    const data = await loadCases(projection, [
      ['2020-03', 'female', 'KH-12-06-01', 6],
      ['2020-03', 'male', 'KH-09-01-01', 5],
      ['2020-03', 'female', 'TH-10-01-01', 3],
    ]);
    const release = (audience: 'donor' | 'public') =>
      releaseNow(projection, data, {
        indicator: 'cases-disclosed',
        period: 'quarter',
        by: ['data.area'],
        audience,
        principal: donor,
      });
    const byProvince = new Map(release('donor').rows.map((row) => [row.dims['data.area'], row.actual]));
    const khmer = [byProvince.get('KH-12'), byProvince.get('KH-09')];
    // A country is the sum of its provinces where each was released, and hidden where one was not.
    expect(release('public').rows.map((row) => [row.dims['data.area'], row.actual])).toEqual([
      [
        'KH',
        khmer.every((actual) => actual !== undefined && !('suppressed' in actual))
          ? { value: 11 }
          : { value: null, suppressed: 'partly-hidden' },
      ],
      ['TH', byProvince.get('TH-10')],
    ]);
    expect(byProvince.get('TH-10')).toEqual({ value: '<5', suppressed: 'primary' });
  });

  it('lets no small count be worked out, whatever the cases (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 5, max: 7 })), {
          minLength: cellsAll.length,
          maxLength: cellsAll.length,
        }),
        async (counts) => {
          expect((await attack(counts)).pinned).toEqual([]);
        },
      ),
      { numRuns: 25 },
    );
  });
});
