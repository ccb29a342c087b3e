import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolvePolicy } from '../disclosure/index.js';
import {
  type HierarchyShape,
  type MonthCount,
  type PeriodEntry,
  readVintages,
  type VintageTable,
} from './periodHierarchy.js';
import type { Granularity } from './periods.js';
import { cutOffOf, frozenVintage, protectionOf, protectVintages } from './vintages.js';

const threshold = 5;
const policy = resolvePolicy('donor', { threshold });
const shape = (dimensions: readonly string[]): HierarchyShape => ({
  audience: 'donor',
  policy,
  dimensions,
  what: 'The counts',
});

describe('the cut-off of a release outside the programme', () => {
  const phnomPenh = 'Asia/Phnom_Penh';

  it('is the end of the last month, quarter or year that has ended in the programme’s time zone', () => {
    // 17:30 UTC on 31 May is 00:30 on 1 June in Phnom Penh: May has ended there.
    const now = new Date('2020-05-31T17:30:00Z');
    expect(cutOffOf('month', phnomPenh, now, undefined)).toBe('2020-05');
    expect(cutOffOf('month', 'UTC', now, undefined)).toBe('2020-04');
    expect(cutOffOf('quarter', phnomPenh, now, undefined)).toBe('2020-03');
    expect(cutOffOf('year', phnomPenh, now, undefined)).toBe('2019-12');
  });

  it('is no later than the last month asked for, rounded down to a whole period of the policy', () => {
    const now = new Date('2020-11-15T00:00:00Z');
    expect(cutOffOf('month', 'UTC', now, '2020-08')).toBe('2020-08');
    expect(cutOffOf('quarter', 'UTC', now, '2020-08')).toBe('2020-06');
    // A month still being recorded is not taken, whatever is asked.
    expect(cutOffOf('month', 'UTC', now, '2020-12')).toBe('2020-10');
  });
});

/** Counts of one month, by sex: `[girls, boys]`. */
const bySex = (month: string, [girls, boys]: readonly [number, number]): MonthCount[] => [
  { month, dims: { 'data.sex': 'female' }, value: girls },
  { month, dims: { 'data.sex': 'male' }, value: boys },
];

const figures = (entries: readonly PeriodEntry[]) =>
  entries.map(({ period, entry }) => [
    period,
    entry.key['data.sex'] ?? 'all',
    'suppressed' in entry ? entry.suppressed : entry.value,
  ]);

describe('figures read from vintages', () => {
  it('gives a period within one vintage as that vintage protected it, and one across two as the sum of its parts', () => {
    const first = frozenVintage(
      '2020-02',
      ['data.sex'],
      [...bySex('2020-01', [6, 7]), ...bySex('2020-02', [5, 9])],
    );
    const second = frozenVintage('2020-03', ['data.sex'], bySex('2020-03', [8, 5]));
    const vintages = protectVintages([first, second], shape(['data.sex']));
    const request = { audience: 'donor' as const, policy, by: ['data.sex'], what: 'The counts' };
    expect(figures(readVintages(vintages, 'month', request))).toEqual([
      ['2020-01', 'female', 6],
      ['2020-01', 'male', 7],
      ['2020-01', 'all', 13],
      ['2020-02', 'female', 5],
      ['2020-02', 'male', 9],
      ['2020-02', 'all', 14],
      ['2020-03', 'female', 8],
      ['2020-03', 'male', 5],
      ['2020-03', 'all', 13],
      ['total', 'female', 19],
      ['total', 'male', 21],
      ['total', 'all', 40],
    ]);
    // The first quarter spans both vintages: the sum of its two parts.
    expect(
      figures(readVintages(vintages, 'quarter', request)).filter(([period]) => period === '2020-Q1'),
    ).toEqual([
      ['2020-Q1', 'female', 19],
      ['2020-Q1', 'male', 21],
      ['2020-Q1', 'all', 40],
    ]);
  });

  it('hides a period across vintages when a part of it is hidden, saying it may be of any size', () => {
    const first = frozenVintage(
      '2020-02',
      ['data.sex'],
      [...bySex('2020-01', [6, 7]), ...bySex('2020-02', [5, 9])],
    );
    // A month of its own with 2 girls: hidden in its vintage, and so is the quarter by sex.
    const second = frozenVintage('2020-03', ['data.sex'], bySex('2020-03', [2, 11]));
    const vintages = protectVintages([first, second], shape(['data.sex']));
    const request = { audience: 'donor' as const, policy, by: ['data.sex'], what: 'The counts' };
    const quarter = figures(readVintages(vintages, 'quarter', request)).filter(
      ([period]) => period === '2020-Q1',
    );
    expect(quarter).toContainEqual(['2020-Q1', 'female', 'partly-hidden']);
    expect(quarter).toContainEqual(['2020-Q1', 'all', 40]);
  });

  it('refuses a vintage whose protection differs from the one it went out with', () => {
    const vintage = frozenVintage(
      '2020-02',
      ['data.sex'],
      [...bySex('2020-01', [6, 7]), ...bySex('2020-02', [2, 9])],
    );
    // As a later version of disclosure control would find it: its digest no longer matches.
    expect(() => protectVintages([{ ...vintage, protection: '0'.repeat(32) }], shape(['data.sex']))).toThrow(
      /up to 2020-02 with a protection this version of Lantern would not make again/,
    );
    const [made] = protectVintages([vintage], shape(['data.sex']));
    expect(
      protectVintages([{ ...vintage, protection: protectionOf(vintage) as string }], shape(['data.sex'])),
    ).toEqual([made]);
  });

  it('refuses a breakdown one vintage in the range gave up, and gives the others without it', () => {
    const first = frozenVintage(
      '2020-02',
      ['data.sex'],
      [...bySex('2020-01', [6, 7]), ...bySex('2020-02', [5, 9])],
    );
    // One girl and five boys in all of March: by sex, her count could be worked out from the
    // total unless it were hidden, so March goes out without a breakdown.
    const second = frozenVintage('2020-03', ['data.sex'], bySex('2020-03', [1, 5]));
    const vintages = protectVintages([first, second], shape(['data.sex']));
    const request = { audience: 'donor' as const, policy, by: ['data.sex'], what: 'The counts' };
    expect(() => readVintages(vintages, 'month', request)).toThrow(/cannot go to a donor by data\.sex/);
    expect(figures(readVintages(vintages, 'month', { ...request, to: '2020-02' }))).toContainEqual([
      '2020-02',
      'female',
      5,
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// An attacker who keeps both releases: one made when the log held January to March, one made
// after it grew, with late records of those months and three months more. It knows every figure
// of both, by month, quarter, year and over the whole range, by sex and not; that each adds up the
// cells under it; that "<5" is 1…4, a total partly hidden anything, and any other hidden figure 0
// or 5 and more. It tries every count of each month and sex the releases give: the first three
// months as they stood at the first release (the second gives them as they went out), the next
// three as they stood at the second. Every small figure must keep two values.
// ---------------------------------------------------------------------------------------------

const early = ['2020-01', '2020-02', '2020-03'];
const later = ['2020-04', '2020-05', '2020-06'];
const sexes = ['female', 'male'];
/** The unknowns: each month and sex. */
const cells = [...early, ...later].flatMap((month) => sexes.map((sex) => ({ month, sex })));

const monthsUnder = (period: string, months: readonly string[]): string[] => {
  if (period === 'total' || period === 'life' || period === '2020') return [...months];
  const quarter = /^2020-Q([1-4])$/.exec(period);
  if (quarter)
    return months.filter((month) => Math.floor((Number(month.slice(5)) - 1) / 3) + 1 === Number(quarter[1]));
  return months.filter((month) => month === period);
};

const holds = (sum: number, entry: PeriodEntry['entry']): boolean =>
  !('suppressed' in entry)
    ? sum === entry.value
    : entry.suppressed === 'partly-hidden'
      ? true
      : entry.suppressed === 'primary'
        ? sum >= 1 && sum < threshold
        : sum === 0 || sum >= threshold;

/**
 * Every figure a donor is given, by each period and breakdown, from a release's vintages: over
 * every month, or up to `to`.
 */
const everything = (vintages: readonly VintageTable[], months: readonly string[], to?: string) =>
  (['month', 'quarter', 'year', 'life'] as Granularity[]).flatMap((granularity) =>
    [[], ['data.sex']].flatMap((by) => {
      try {
        const request = { audience: 'donor' as const, policy, by, what: 'The counts', ...(to ? { to } : {}) };
        return readVintages(vintages, granularity, request).map(({ period, entry }) => ({
          period,
          under: cells.flatMap((cell, i) =>
            monthsUnder(period, months).includes(cell.month) &&
            (to === undefined || cell.month <= to) &&
            (entry.key['data.sex'] === undefined || entry.key['data.sex'] === cell.sex)
              ? [i]
              : [],
          ),
          entry,
        }));
      } catch {
        // A refused breakdown or period gives nothing.
        return [];
      }
    }),
  );

/** The largest count the attacker tries for a cell: above any the properties make. */
const largest = 9;

/** The small figures the attacker pins to one value. */
const pinned = (facts: readonly { under: readonly number[]; entry: PeriodEntry['entry'] }[]) => {
  const small = facts.filter(({ entry }) => 'suppressed' in entry && entry.suppressed === 'primary');
  const seen = small.map(() => new Set<number>());
  const last = facts.map(({ under }) => Math.max(-1, ...under));
  /** How many of a fact's cells are still to be tried from cell `i` on. */
  const open = facts.map(({ under }) => cells.map((_, i) => under.filter((cell) => cell >= i).length));
  const tried: number[] = [];
  const sumOf = (under: readonly number[], below: number) =>
    under.reduce((total, i) => total + (i < below ? (tried[i] ?? 0) : 0), 0);
  /**
   * Whether the cells from `i` on can be given values that agree with every fact, and with the
   * small fact `pinTo.fact` adding up to `pinTo.sum` when given; each agreeing assignment found
   * adds what every small fact adds up to under it to `seen`.
   */
  const solve = (i: number, pinTo?: { fact: number; sum: number }): boolean => {
    for (const [f, fact] of facts.entries()) {
      const sum = sumOf(fact.under, i);
      // What its cells can still add up to, each at most the largest value tried: a fact out of
      // reach either way is not worth going on for.
      const most = sum + largest * (open[f]?.[i] ?? 0);
      const exact = !('suppressed' in fact.entry)
        ? fact.entry.value
        : pinTo !== undefined && small[pinTo.fact] === fact
          ? pinTo.sum
          : undefined;
      if (exact !== undefined && (sum > exact || most < exact)) return false;
      if ('suppressed' in fact.entry && fact.entry.suppressed === 'primary' && (sum >= threshold || most < 1))
        return false;
      if (last[f] === i - 1 && !holds(sum, fact.entry)) return false;
    }
    if (i === cells.length) {
      for (const [s, fact] of small.entries()) seen[s]?.add(sumOf(fact.under, i));
      return true;
    }
    for (let value = 0; value <= largest; value += 1) {
      tried[i] = value;
      if (solve(i + 1, pinTo)) return true;
    }
    return false;
  };
  // One assignment that agrees with everything given (the true counts do), then, for each small
  // figure with one value so far, one that gives it another value, if any does.
  if (!solve(0)) return [];
  for (const [s, values] of seen.entries()) {
    for (let sum = 1; sum < threshold && values.size < 2; sum += 1) {
      if (!values.has(sum)) solve(0, { fact: s, sum });
    }
  }
  return small.filter((_, s) => (seen[s]?.size ?? 0) < 2);
};

describe('releases from a log that grew between them', () => {
  it('are what the attacker needs: protected anew over every month, a second release beside the first gives a small count away', () => {
    // Found by the property below with the vintages replaced by one table of every month: no
    // late record at all, and still the first release's total over its months, set beside the
    // second release, pins a small count.
    const atFirst: [number, number][] = [
      [5, 6],
      [2, 5],
      [0, 5],
    ];
    const afterwards: [number, number][] = [
      [0, 1],
      [0, 3],
      [1, 1],
    ];
    const first = frozenVintage(
      '2020-03',
      ['data.sex'],
      early.flatMap((month, i) => bySex(month, atFirst[i] as [number, number])),
    );
    const all = frozenVintage(
      '2020-06',
      ['data.sex'],
      [...first.counts, ...later.flatMap((month, i) => bySex(month, afterwards[i] as [number, number]))],
    );
    const given = everything(protectVintages([first], shape(['data.sex'])), early);
    const anew = everything(protectVintages([all], shape(['data.sex'])), [...early, ...later]);
    expect(pinned([...given, ...anew]).length).toBeGreaterThan(0);
    // In vintages, the same releases pin nothing.
    const second = frozenVintage(
      '2020-06',
      ['data.sex'],
      all.counts.filter((count) => count.month > '2020-03'),
    );
    const inVintages = everything(protectVintages([first, second], shape(['data.sex'])), [
      ...early,
      ...later,
    ]);
    expect(pinned([...given, ...inVintages])).toEqual([]);
  });

  it('give the months of the first again as they went out, and let no small count be worked out from both (property)', () => {
    const count = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 5, max: 7 }));
    const pair = fc.tuple(count, count);
    fc.assert(
      fc.property(
        fc.array(pair, { minLength: 3, maxLength: 3 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })), {
          minLength: 3,
          maxLength: 3,
        }),
        fc.array(pair, { minLength: 3, maxLength: 3 }),
        (atFirst, late, afterwards) => {
          const first = frozenVintage(
            '2020-03',
            ['data.sex'],
            early.flatMap((month, i) => bySex(month, atFirst[i] as [number, number])),
          );
          const firstRelease = protectVintages([first], shape(['data.sex']));
          // The log as it stands at the second release: late records in the first months, which
          // the second release does not read (they went out), and three months more.
          const grown = [
            ...early.flatMap((month, i) =>
              bySex(month, [
                (atFirst[i] as [number, number])[0] + (late[i] as [number, number])[0],
                (atFirst[i] as [number, number])[1] + (late[i] as [number, number])[1],
              ]),
            ),
            ...later.flatMap((month, i) => bySex(month, afterwards[i] as [number, number])),
          ];
          const second = frozenVintage(
            '2020-06',
            ['data.sex'],
            grown.filter((c) => c.month > first.last),
          );
          const secondRelease = protectVintages([first, second], shape(['data.sex']));
          const given = everything(firstRelease, early);
          const givenAgain = everything(secondRelease, [...early, ...later]);
          // What the second release gives of the first release's months, asked up to their last.
          const earlyAgain = everything(secondRelease, [...early, ...later], '2020-03');
          // Every figure of the first release's months and quarter is given again as it went out.
          const ofFirstMonths = (facts: typeof given) =>
            facts
              .filter(({ period }) => [...early, '2020-Q1'].includes(period))
              .map(({ period, entry }) => [
                period,
                entry.key['data.sex'] ?? 'all',
                entry.value,
                'suppressed' in entry,
              ])
              .sort();
          expect(ofFirstMonths(earlyAgain)).toEqual(ofFirstMonths(given));
          expect(pinned([...given, ...givenAgain, ...earlyAgain])).toEqual([]);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('let no small count be worked out from three releases, each reaching two months further (property)', () => {
    // Three vintages of two months each: a period spans two of them (the first and second
    // quarters), and the whole range all three.
    const months = [...early, ...later];
    const count = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 5, max: 7 }));
    fc.assert(
      fc.property(fc.array(fc.tuple(count, count), { minLength: 6, maxLength: 6 }), (values) => {
        const counts = months.flatMap((month, i) => bySex(month, values[i] as [number, number]));
        const lasts = ['2020-02', '2020-04', '2020-06'];
        const vintages = lasts.map((last, i) =>
          frozenVintage(
            last,
            ['data.sex'],
            counts.filter((c) => c.month <= last && (i === 0 || c.month > (lasts[i - 1] as string))),
          ),
        );
        const releases = lasts.map((last, i) =>
          everything(
            protectVintages(vintages.slice(0, i + 1), shape(['data.sex'])),
            months.filter((month) => month <= last),
          ),
        );
        expect(pinned(releases.flat())).toEqual([]);
      }),
      { numRuns: 30 },
    );
  });
});
