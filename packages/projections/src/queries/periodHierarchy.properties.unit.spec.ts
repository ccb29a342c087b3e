import { isDisclosureError } from '@lantern/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolvePolicy } from '../disclosure/index.js';
import {
  checkHierarchyRequest,
  type HierarchyShape,
  type MonthCount,
  type PeriodEntry,
  type PeriodHierarchyRequest,
  protectHierarchy,
  readHierarchy,
} from './periodHierarchy.js';
import type { Granularity } from './periods.js';

// ---------------------------------------------------------------------------------------------
// An attacker written from the releases alone (it shares no code with the protection): it is given
// what a donor gets by month, by quarter, by year and over the whole range, and over every other
// range it may ask for; it knows that each figure adds up the months under it, that "<5" is 1…4,
// a total partly hidden anything, and any other hidden figure 0 or 5 and more, and tries every
// value of the months not released exactly. Every small figure must keep two values.
// ---------------------------------------------------------------------------------------------

const threshold = 5;
/** Six months over two quarters of one year, and three of the next: enough for every level to matter. */
const months = [
  '2019-01',
  '2019-02',
  '2019-03',
  '2019-04',
  '2019-05',
  '2019-06',
  '2020-01',
  '2020-02',
  '2020-03',
];

/** The first and last months a release was asked for. */
interface Range {
  readonly from: string;
  readonly to: string;
}

/** The months a released figure adds up, of those in the range it was released over. */
const monthsOf = (period: string, range?: Range): string[] =>
  monthsUnder(period).filter((month) => !range || (month >= range.from && month <= range.to));

const monthsUnder = (period: string): string[] => {
  if (period === 'life' || period === 'total') return months;
  if (/^\d{4}$/.test(period)) return months.filter((month) => month.startsWith(period));
  const quarter = /^(\d{4})-Q([1-4])$/.exec(period);
  if (quarter) {
    const number = Number(quarter[2]);
    return months.filter(
      (month) =>
        month.startsWith(quarter[1] as string) && Math.floor((Number(month.slice(5)) - 1) / 3) + 1 === number,
    );
  }
  return [period];
};

interface Fact {
  readonly period: string;
  readonly months: readonly string[];
  readonly entry: PeriodEntry['entry'];
}

/**
 * What a donor is given: the request checked, the counts protected once (as a release of the
 * same data reads the protection made first), the figures read out of it.
 */
const releasedFrom = (counts: readonly MonthCount[], shape: HierarchyShape) => {
  const table = protectHierarchy(counts, shape);
  return (granularity: Granularity, request: PeriodHierarchyRequest): PeriodEntry[] => {
    checkHierarchyRequest(granularity, request);
    return table === undefined ? [] : readHierarchy(table, granularity, request);
  };
};

/** Whether a sum fits what a figure says of it. */
const fits = (sum: number, entry: Fact['entry']): boolean =>
  !('suppressed' in entry)
    ? sum === entry.value
    : entry.suppressed === 'partly-hidden'
      ? true
      : entry.suppressed === 'primary'
        ? sum >= 1 && sum < threshold
        : sum === 0 || sum >= threshold;

/** A released figure and the unknowns (months, cells) it adds up, by index. */
interface Figure {
  readonly under: readonly number[];
  readonly entry: Fact['entry'];
}

/**
 * The attacker: it tries every value up to `upTo` of each of `count` unknowns and gives back the
 * figures among `figures` that are small and keep fewer than two possible values. A figure is
 * checked as soon as its unknowns have values, and bounds them before: they add up to no more
 * than a released figure or a "<5". It stops once every small figure has shown two values.
 */
const pinnedOf = (count: number, figures: readonly Figure[], upTo: number): Figure[] => {
  const last = figures.map((figure) => Math.max(-1, ...figure.under));
  const most = figures.map(({ entry }) =>
    !('suppressed' in entry)
      ? (entry.value as number)
      : entry.suppressed === 'primary'
        ? threshold - 1
        : Number.POSITIVE_INFINITY,
  );
  const small = figures.flatMap(({ entry }, f) =>
    'suppressed' in entry && entry.suppressed === 'primary' ? [f] : [],
  );
  const seen = figures.map(() => new Set<number>());
  const tried: number[] = [];
  const sumOf = (under: readonly number[], below = count) =>
    under.reduce((total, i) => total + (i < below ? (tried[i] ?? 0) : 0), 0);
  const tryFrom = (i: number): boolean => {
    for (const [f, figure] of figures.entries()) {
      const sum = sumOf(figure.under, i);
      if (sum > (most[f] as number)) return false;
      if (last[f] === i - 1 && !fits(sum, figure.entry)) return false;
    }
    if (i === count) {
      for (const [f, figure] of figures.entries()) seen[f]?.add(sumOf(figure.under));
      return small.every((f) => (seen[f]?.size ?? 0) >= 2);
    }
    for (let value = 0; value <= upTo; value += 1) {
      tried[i] = value;
      if (tryFrom(i + 1)) return true;
    }
    return false;
  };
  tryFrom(0);
  return small.filter((f) => (seen[f]?.size ?? 0) < 2).map((f) => figures[f] as Figure);
};

/** The periods of small figures the attacker pins to one value, trying each month up to `upTo`. */
const pinnedBy = (facts: readonly Fact[], upTo: number): string[] => {
  const pinned = new Set(
    pinnedOf(
      months.length,
      facts.map((fact) => ({ under: fact.months.map((month) => months.indexOf(month)), entry: fact.entry })),
      upTo,
    ).map((figure) => figure.entry),
  );
  return facts.flatMap((fact) => (pinned.has(fact.entry) ? [fact.period] : []));
};

/**
 * What a donor may ask for: every granularity over every month counted, the whole range over any
 * run of months, and quarters and years over runs of whole ones.
 */
const requests: readonly { readonly granularity: Granularity; readonly range?: Range }[] = [
  ...(['month', 'quarter', 'year', 'life'] as const).map((granularity) => ({ granularity })),
  ...months.flatMap((from, i) =>
    months.slice(i).map((to) => ({ granularity: 'life' as const, range: { from, to } })),
  ),
  ...[
    { from: '2019-01', to: '2019-03' },
    { from: '2019-04', to: '2019-06' },
    { from: '2019-04', to: '2020-03' },
    { from: '2020-01', to: '2020-03' },
  ].map((range) => ({ granularity: 'quarter' as const, range })),
  ...['2019', '2020'].map((year) => ({
    granularity: 'year' as const,
    range: { from: `${year}-01`, to: `${year}-12` },
  })),
];

describe('releases by every period, from one protection of the period hierarchy', () => {
  it('lets no small figure be worked out from releases by every period and over every range together', () => {
    const counts = fc.array(
      fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 5, max: 9 })),
      {
        minLength: months.length,
        maxLength: months.length,
      },
    );
    fc.assert(
      fc.property(counts, (values) => {
        const byMonth = months.map((month, i) => ({ month, dims: {}, value: values[i] as number }));
        const policy = resolvePolicy('donor', { threshold });
        const facts: Fact[] = [];
        let release: ReturnType<typeof releasedFrom>;
        try {
          release = releasedFrom(byMonth, { audience: 'donor', policy, dimensions: [], what: 'The counts' });
        } catch (error) {
          // A refusal says so; a release that is not made gives nothing away.
          expect(isDisclosureError(error)).toBe(true);
          return;
        }
        for (const { granularity, range } of requests) {
          let released: PeriodEntry[];
          try {
            released = release(granularity, {
              audience: 'donor',
              policy,
              by: [],
              what: 'The counts',
              ...range,
            });
          } catch (error) {
            // A refusal says so; a release that is not made gives nothing away.
            expect(isDisclosureError(error)).toBe(true);
            continue;
          }
          for (const { period, entry } of released) {
            facts.push({ period, months: monthsOf(period, range), entry });
          }
        }
        // What is released is true, and nothing small is shown.
        for (const fact of facts) {
          const truth = fact.months.reduce((total, month) => total + (values[months.indexOf(month)] ?? 0), 0);
          expect(fits(truth, fact.entry)).toBe(true);
        }
        // Months up to 30: far above what the counts are drawn from, so the bound tells nothing.
        expect(pinnedBy(facts, 30)).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });
});

describe('releases by every breakdown, from one protection of every dimension', () => {
  const sexes = ['female', 'male'];
  const areas = ['KH-01', 'KH-09', 'KH-12'];
  const cells = sexes.flatMap((sex) => areas.map((area) => ({ sex, area })));
  const breakdowns = [[], ['sex'], ['area'], ['sex', 'area']];
  const granularities = ['month', 'quarter', 'year', 'life'] as const;

  it('lets no small figure be worked out from the releases by sex, by area, by both and by neither together', () => {
    const counts = fc.array(
      fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 5, max: 9 })),
      { minLength: cells.length, maxLength: cells.length },
    );
    fc.assert(
      fc.property(counts, (values) => {
        // One month's counts: every period a release shows of it holds that month or nothing.
        const byMonth = cells.map((cell, i) => ({
          month: '2019-02',
          dims: cell,
          value: values[i] as number,
        }));
        const policy = resolvePolicy('donor', { threshold });
        const facts: { readonly under: readonly number[]; readonly entry: PeriodEntry['entry'] }[] = [];
        let release: ReturnType<typeof releasedFrom>;
        try {
          release = releasedFrom(byMonth, {
            audience: 'donor',
            policy,
            dimensions: ['sex', 'area'],
            what: 'The counts',
          });
        } catch (error) {
          expect(isDisclosureError(error)).toBe(true);
          return;
        }
        for (const by of breakdowns) {
          for (const granularity of granularities) {
            let released: PeriodEntry[];
            try {
              released = release(granularity, { audience: 'donor', policy, by, what: 'The counts' });
            } catch (error) {
              expect(isDisclosureError(error)).toBe(true);
              continue;
            }
            for (const { period, entry } of released) {
              if (!['2019-02', '2019-Q1', '2019', 'life', 'total'].includes(period)) continue;
              const under = cells.flatMap((cell, i) =>
                by.every((d) => entry.key[d] === undefined || entry.key[d] === cell[d as 'sex' | 'area'])
                  ? [i]
                  : [],
              );
              facts.push({ under, entry });
            }
          }
        }
        const sumOf = (under: readonly number[], of: readonly number[]) =>
          under.reduce((total, i) => total + (of[i] ?? 0), 0);
        for (const fact of facts) expect(fits(sumOf(fact.under, values), fact.entry)).toBe(true);
        // The attacker tries every value up to 20 of each cell.
        const pinned = pinnedOf(cells.length, facts, 20);
        expect(pinned.map((fact) => fact.entry.key)).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });
});
