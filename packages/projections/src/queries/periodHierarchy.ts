import { type Audience, DisclosureError, isDisclosureError } from '@lantern/core';
import {
  type CountTable,
  checkPeriodGranularity,
  coarsenAreas,
  type DisclosurePolicy,
  type PeriodGranularity,
  protectTable,
  type ReleasedEntry,
  type ReleasedTable,
} from '../disclosure/index.js';
import { type Granularity, nextMonth, previousMonth } from './periods.js';

/**
 * Counts that add up over time, released outside the programme. A donor may ask for the same
 * figures by quarter and by year: a quarter hidden in one release must not be worked back from
 * the year released in the other. So every granularity is read from one protection of the whole
 * period hierarchy over the same months (each month, its quarter, its year, the total), whatever
 * granularity is asked for: each release shows a part of it. The table is as fine as the policy
 * allows and can be protected: by months, else quarters, else years, else (with a breakdown) the
 * whole range; a request finer than that is refused, so every request of the same figures reads
 * the same protection.
 *
 * The table covers every month counted (of its vintage: see vintages.ts), whatever range is
 * asked for: a donor who asks for April to September after asking for the whole year would
 * otherwise get a second protection, and a total of two quarters beside a third released alone
 * would give the fourth away. A range picks
 * whole periods out of the one table (a range that cuts a quarter asked for by quarter is
 * refused), and a total over part of the months is released only when the periods that make it
 * up all were: then it tells nothing they do not.
 */

/** One month's count for one combination of the breakdown. */
export interface MonthCount {
  /** `YYYY-MM`. */
  readonly month: string;
  readonly dims: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * A total over part of the months counted that is not released because some period under it is
 * hidden: unlike a figure hidden by the protection, it may be of any size, small too.
 */
export interface PartlyHiddenEntry {
  readonly key: Readonly<Record<string, string>>;
  readonly value: null;
  readonly suppressed: 'partly-hidden';
}

/** One released figure of a period (or of the whole range: `total`) and a part of the breakdown. */
export interface PeriodEntry {
  /** `2020-05`, `2020-Q2`, `2020`, `life`; or `total` for the range asked for, at any granularity. */
  readonly period: string;
  readonly entry: ReleasedEntry | PartlyHiddenEntry;
  /** Whether it names every dimension of the breakdown (a cell) rather than a total over some. */
  readonly complete: boolean;
}

export interface PeriodHierarchyRequest {
  readonly audience: Exclude<Audience, 'internal'>;
  readonly policy: DisclosurePolicy;
  readonly by: readonly string[];
  /** Names the figures in a refusal: `Indicator "cases-disclosed"`. */
  readonly what: string;
  /** The breakdown as a refusal names it, when `by` holds more than the request's. Default `by`. */
  readonly asked?: readonly string[];
  /**
   * The first and last months asked for (`YYYY-MM`); default, every month counted. The counts
   * always cover every month there is: the range picks the released figures out of one protection.
   */
  readonly from?: string;
  readonly to?: string;
}

const yearLevel = '(year)';
const quarterLevel = '(quarter)';
const monthLevel = '(month of the quarter)';
/** The period levels of the protected table, coarsest first. */
const hierarchy = [yearLevel, quarterLevel, monthLevel] as const;
/** How many levels of the hierarchy name one period of a granularity. */
const depthOf: Readonly<Record<Granularity, number>> = { life: 0, year: 1, quarter: 2, month: 3 };

/** The finest reporting period a policy lets out of the programme (never finer than a month). */
const finestLevel = (finest: PeriodGranularity): Granularity =>
  finest === 'year' ? 'year' : finest === 'quarter' ? 'quarter' : 'month';

/** A month's place in the hierarchy, down to `depth` levels. */
const levelsOf = (month: string, depth: number): Record<string, string> => {
  const number = Number(month.slice(5, 7));
  const key: Record<string, string> = {
    [yearLevel]: month.slice(0, 4),
    [quarterLevel]: `Q${Math.floor((number - 1) / 3) + 1}`,
    [monthLevel]: String(((number - 1) % 3) + 1),
  };
  return Object.fromEntries(hierarchy.slice(0, depth).map((level) => [level, key[level] as string]));
};

/** How many levels a key names, counted from the year; undefined unless they are the first ones. */
const depthIn = (key: Readonly<Record<string, string>>, levels: readonly string[]): number | undefined => {
  const named = levels.map((level) => key[level] !== undefined);
  const count = named.filter(Boolean).length;
  return named.every((present, i) => present === i < count) ? count : undefined;
};

/** The label of the period a key of the hierarchy names: `2020`, `2020-Q2` or `2020-05`. */
const periodLabelOf = (key: Readonly<Record<string, string>>): string => {
  const year = key[yearLevel] as string;
  const quarter = key[quarterLevel];
  if (quarter === undefined) return year;
  const month = key[monthLevel];
  if (month === undefined) return `${year}-${quarter}`;
  const number = (Number(quarter.slice(1)) - 1) * 3 + Number(month);
  return `${year}-${String(number).padStart(2, '0')}`;
};

const plural: Readonly<Record<Granularity, string>> = {
  month: 'months',
  quarter: 'quarters',
  year: 'years',
  life: 'periods',
};

/** What a request is refused for before any count is read: a period or a range the policy does not allow. */
export const checkHierarchyRequest = (granularity: Granularity, request: PeriodHierarchyRequest): void => {
  // The life of a programme is coarser than a year, and may be released wherever a year may.
  checkPeriodGranularity(granularity === 'life' ? 'year' : granularity, request.audience, request.policy);
  checkRangeFits(granularity, request);
};

/** What a hierarchy is protected for, whatever is then asked of it. */
export interface HierarchyShape {
  readonly audience: Exclude<Audience, 'internal'>;
  readonly policy: DisclosurePolicy;
  /**
   * Every dimension the counts break down by that a release may ask for, in the order they are
   * kept when not all of them can be: the last is given up first.
   */
  readonly dimensions: readonly string[];
  /** Dimensions always kept: a percentage's parts. */
  readonly kept?: readonly string[];
  readonly areaDimension?: string;
  /** Names the figures in a refusal: `Indicator "cases-disclosed"`. */
  readonly what: string;
  /**
   * Whether a release shows an entry of a whole period (by its key): one that is not shown, nor
   * can be worked out from those that are, is left out of the protection (see
   * `ProtectOptions.unseen`). Default: every one.
   */
  readonly shown?: (key: Readonly<Record<string, string>>) => boolean;
}

/** The period hierarchy of some counts, protected once for an audience: what every release of them reads. */
export interface ProtectedHierarchy {
  readonly released: ReleasedTable;
  /** The period levels of the table, coarsest first. */
  readonly levels: readonly string[];
  readonly finest: Granularity;
  /** The breakdown's dimensions the table kept (the `kept` ones among them). */
  readonly dimensions: readonly string[];
  readonly kept: readonly string[];
  readonly firstCounted: string;
  readonly lastCounted: string;
}

/**
 * The subsets of `dimensions` to try, in order: all of them first, then one fewer, and so on;
 * among subsets of one size, those that keep the earlier dimensions first.
 */
export const subsetsOf = (dimensions: readonly string[]): string[][] => {
  const subsets: string[][] = [];
  for (let size = dimensions.length; size >= 0; size -= 1) {
    const pick = (from: number, chosen: string[]): void => {
      if (chosen.length === size) {
        subsets.push(chosen);
        return;
      }
      for (let i = from; i <= dimensions.length - (size - chosen.length); i += 1) {
        pick(i + 1, [...chosen, dimensions[i] as string]);
      }
    };
    pick(0, []);
  }
  return subsets;
};

/**
 * The first of `attempts` that protects its table without hiding the grand total (`entriesOf`
 * gives the entries to look at): a breakdown that costs the grand total, and with it every
 * figure by period that could hide with it, is given up; the headline figures come first. Else
 * the first that protects its table at all; undefined when none does.
 */
export const firstKeepingTotal = <T>(
  attempts: Iterable<() => T>,
  entriesOf: (made: T) => readonly ReleasedEntry[],
): T | undefined => {
  let fallback: T | undefined;
  for (const attempt of attempts) {
    let made: T;
    try {
      made = attempt();
    } catch (error) {
      if (!isDisclosureError(error)) throw error;
      continue;
    }
    const hidesTotal = entriesOf(made).some(
      (entry) =>
        Object.keys(entry.key).length === 0 && 'suppressed' in entry && entry.suppressed === 'secondary',
    );
    if (!hidesTotal) return made;
    fallback ??= made;
  }
  return fallback;
};

/**
 * Protects the counts' period hierarchy once, with every dimension they break down by: a release
 * by sex and one without a breakdown read the same table, so a total hidden in one is hidden in
 * the other. The table is by the finest period it can be protected at (months, else quarters,
 * else years, else, with a dimension, the whole range only), with as many dimensions as can be
 * kept at that period without hiding the grand total: all of them, else one fewer (the last
 * given up first), and so on. The headline figures by period come first; a policy with a coarser
 * `finestPeriod` may keep more dimensions. Undefined when nothing was counted.
 */
export const protectHierarchy = (
  counts: readonly MonthCount[],
  shape: HierarchyShape,
): ProtectedHierarchy | undefined => {
  // Nothing counted (a programme just launched): nothing to hide, no period to show.
  if (counts.length === 0) return undefined;
  const { policy, audience } = shape;
  const kept = shape.kept ?? [];
  const sorted = counts.map((count) => count.month).sort();
  const years = [...new Set(sorted.map((month) => month.slice(0, 4)))];
  const finestAllowed = depthOf[finestLevel(policy.finestPeriod)];
  function* attempts(): Generator<() => ProtectedHierarchy> {
    for (const finest of ['month', 'quarter', 'year', 'life'] as const) {
      if (depthOf[finest] > finestAllowed) continue;
      const levels = hierarchy.slice(0, depthOf[finest]);
      for (const subset of subsetsOf(shape.dimensions)) {
        const dimensions = [...subset, ...kept];
        // The whole range alone (no period level) only with a dimension: a table needs one.
        if (levels.length === 0 && dimensions.length === 0) continue;
        yield () => {
          const areaDimension =
            shape.areaDimension !== undefined && dimensions.includes(shape.areaDimension)
              ? shape.areaDimension
              : undefined;
          let table: CountTable = merged({
            dimensions: [...levels, ...dimensions],
            categories: {
              ...(levels.includes(yearLevel) ? { [yearLevel]: years } : {}),
              ...(levels.includes(quarterLevel) ? { [quarterLevel]: ['Q1', 'Q2', 'Q3', 'Q4'] } : {}),
              ...(levels.includes(monthLevel) ? { [monthLevel]: ['1', '2', '3'] } : {}),
            },
            // Months that fall in one cell of a coarser level, and counts that differ only in the
            // dimensions left out, are added up by `merged`.
            cells: counts.map((count) => {
              const key: Record<string, string> = levelsOf(count.month, levels.length);
              for (const d of dimensions) key[d] = count.dims[d] ?? 'unknown';
              return { key, value: count.value };
            }),
            ...(areaDimension === undefined ? {} : { areaDimension }),
          });
          if (areaDimension !== undefined) table = coarsenAreas(table, areaDimension, policy.areaLevel);
          return {
            // Headline figures first: a total over the breakdown is hidden only when cells will not do.
            released: protectTable(table, audience, policy, {
              totalsFirst: dimensions,
              // A total over every first month of a quarter, say, is part of no release.
              unseen: (key) => depthIn(key, levels) === undefined || shape.shown?.(key) === false,
            }),
            levels,
            finest,
            dimensions,
            kept,
            firstCounted: sorted[0] as string,
            lastCounted: sorted.at(-1) as string,
          };
        };
      }
    }
  }
  const made = firstKeepingTotal(attempts(), ({ released }) => [...released.margins]);
  if (made !== undefined) return made;
  // Its message would name the levels of the hierarchy, which no request names.
  throw new DisclosureError(
    `${shape.what} cannot go outside the programme by any period: some small count could be worked out from the ` +
      'totals and the "<5" labels whatever else were hidden. Merge small categories or coarsen areas, or ' +
      'release it to internal staff only.',
  );
};

/**
 * Refuses what a protected hierarchy cannot give: a breakdown by a dimension it gave up, or a
 * period finer than it could be protected at.
 */
const refuseUnreadable = (
  table: ProtectedHierarchy,
  granularity: Granularity,
  request: PeriodHierarchyRequest,
): void => {
  const { by, audience } = request;
  const { finest } = table;
  const missing = by.filter((d) => !table.dimensions.includes(d));
  if (missing.length > 0) {
    const open = table.dimensions.filter((d) => !table.kept.includes(d));
    const ask = open.length === 0 ? 'without a breakdown' : `by ${open.join(', ')} or without a breakdown`;
    throw new DisclosureError(
      `${request.what} cannot go to a ${audience} by ${missing.join(', ')}: ` +
        `by ${finest === 'life' ? 'the whole range' : plural[finest]}, the finest period its figures go out by, ` +
        'some small count broken down so could be worked out from the totals whatever else were hidden. ' +
        `Ask for it ${ask}, ` +
        (finest === 'life'
          ? ''
          : 'try a policy with a coarser finestPeriod, which may keep more breakdowns, ') +
        'or release it to internal staff only.',
    );
  }
  if (depthOf[granularity] > depthOf[finest]) {
    throw new DisclosureError(
      `${request.what}${describedBy(request)} cannot go to a ${audience} by ${granularity}: ` +
        `its small counts could be worked out from the ${plural[granularity]} and their totals whatever else were hidden. ` +
        `Ask for it ${finest === 'life' ? 'over the whole range (period: life)' : `by ${finest} or coarser`}.`,
    );
  }
};

/**
 * The figures of `granularity` in the range asked for, read from a protected hierarchy: every
 * period's cells and totals over the breakdown `by`, and the totals over the range (`total`).
 */
export const readHierarchy = (
  table: ProtectedHierarchy,
  granularity: Granularity,
  request: PeriodHierarchyRequest,
): PeriodEntry[] => {
  refuseUnreadable(table, granularity, request);
  const { by } = request;
  const { released, levels, firstCounted, lastCounted, finest } = table;
  const from = request.from ?? firstCounted;
  const to = request.to ?? lastCounted;
  const entries: PeriodEntry[] = [];
  /** The figures of each whole period of the table, by its label: what a total over part of it adds up. */
  const byPeriod = new Map<string, ReleasedEntry[]>();
  const overAll: PeriodEntry[] = [];
  for (const entry of [...released.cells, ...released.margins]) {
    // The breakdown asked for and its totals: the table's other dimensions added up.
    if (table.dimensions.some((d) => entry.key[d] !== undefined && !by.includes(d))) continue;
    const depth = depthIn(entry.key, levels);
    // Only whole periods are released: a total over every first month of a quarter, say, is part
    // of the protection and of no release.
    if (depth === undefined) continue;
    const complete = by.every((d) => entry.key[d] !== undefined);
    if (depth === 0) {
      overAll.push({ period: 'total', entry, complete });
      continue;
    }
    const label = periodLabelOf(entry.key);
    const figures = byPeriod.get(label);
    if (figures) figures.push(entry);
    else byPeriod.set(label, [entry]);
    if (depth !== depthOf[granularity]) continue;
    if (isAsked(label, request)) entries.push({ period: label, entry, complete });
  }
  return periodsAndTotals(
    granularity,
    entries,
    overAll,
    byPeriod,
    { from, to, firstCounted, lastCounted, finest },
    request,
  );
};

/**
 * One vintage of a hierarchy released outside the programme (see vintages.ts): the months after
 * the vintage before it, up to `last`, protected as a table of their own when they first went out.
 */
export interface VintageTable {
  /** The last month of the vintage, `YYYY-MM`; the first vintage reaches back to the start. */
  readonly last: string;
  /** Undefined when nothing was counted in its months. */
  readonly table: ProtectedHierarchy | undefined;
}

/**
 * The figures of `granularity` in the range asked for, read from the vintages of a hierarchy, as
 * `readHierarchy` reads one. A period, or a total, that lies in one vintage is that vintage's
 * figure as it was protected; one that spans vintages is the sum of its parts, one from each,
 * when every part was released (then anyone could add them up), else hidden as `partly-hidden`;
 * where every part but one is shown as 0, it is that one, as it was protected.
 * The vintages hold different months, each protected on its own, so what one gives tells nothing
 * about the others. A breakdown or period is refused when a vintage in the range cannot give it.
 */
export const readVintages = (
  vintages: readonly VintageTable[],
  granularity: Granularity,
  request: PeriodHierarchyRequest,
): PeriodEntry[] => {
  const counted = vintages.flatMap((vintage, i) =>
    vintage.table === undefined
      ? []
      : [
          {
            table: vintage.table,
            after: i === 0 ? undefined : (vintages[i - 1] as VintageTable).last,
            last: vintage.last,
          },
        ],
  );
  if (counted.length === 0) return [];
  const firstCounted = counted.map((v) => v.table.firstCounted).sort()[0] as string;
  const lastCounted = counted
    .map((v) => v.table.lastCounted)
    .sort()
    .at(-1) as string;
  const from = request.from ?? firstCounted;
  const to = request.to ?? lastCounted;
  const inRange = counted.filter((v) => v.table.lastCounted >= from && v.table.firstCounted <= to);
  const read = inRange.length > 0 ? inRange : counted;
  for (const { table } of read) refuseUnreadable(table, granularity, request);
  const { by } = request;
  const breakdownOf = (key: Readonly<Record<string, string>>) =>
    JSON.stringify(by.map((d) => key[d] ?? null));
  /** Each period's parts (by its label; '' for the whole of a vintage), by the breakdown's cell or total. */
  const parts = new Map<string, Map<string, ReleasedEntry[]>>();
  for (const { table, after, last } of read) {
    for (const entry of [...table.released.cells, ...table.released.margins]) {
      if (table.dimensions.some((d) => entry.key[d] !== undefined && !by.includes(d))) continue;
      const depth = depthIn(entry.key, table.levels);
      if (depth === undefined) continue;
      const label = depth === 0 ? '' : periodLabelOf(entry.key);
      if (label !== '') {
        // A vintage's table has every quarter of its years: those outside its months are 0, not parts.
        const [first, end] = monthsOfPeriod(label);
        if (end <= (after ?? '') || first > last) continue;
      }
      let cells = parts.get(label);
      if (!cells) {
        cells = new Map();
        parts.set(label, cells);
      }
      const cell = breakdownOf(entry.key);
      const known = cells.get(cell);
      if (known) known.push(entry);
      else cells.set(cell, [entry]);
    }
  }
  const combined = (entries: readonly ReleasedEntry[]): ReleasedEntry | PartlyHiddenEntry => {
    const [first] = entries as [ReleasedEntry];
    // A part shown as 0 adds nothing: the figure is what the others make it.
    const parts = entries.filter((entry) => 'suppressed' in entry || entry.value !== 0);
    const [only] = parts;
    if (only === undefined) return first;
    if (parts.length === 1) return only;
    let sum = 0;
    for (const entry of parts) {
      if ('suppressed' in entry) return { key: first.key, value: null, suppressed: 'partly-hidden' };
      sum += entry.value;
    }
    return { key: first.key, value: sum };
  };
  const complete = (key: Readonly<Record<string, string>>) => by.every((d) => key[d] !== undefined);
  const entries: PeriodEntry[] = [];
  const byPeriod = new Map<string, ReleasedEntry[]>();
  const overAll: PeriodEntry[] = [];
  for (const [label, cells] of parts) {
    const figures = [...cells.values()].map(combined);
    if (label === '') {
      for (const entry of figures) overAll.push({ period: 'total', entry, complete: complete(entry.key) });
      continue;
    }
    // A total over part of the range adds up shown figures only: a part hidden (left out here)
    // hides it.
    byPeriod.set(
      label,
      figures.filter((entry): entry is ReleasedEntry => !('suppressed' in entry)),
    );
    const depth = label.length === 4 ? 1 : label.includes('Q') ? 2 : 3;
    if (depth !== depthOf[granularity]) continue;
    if (isAsked(label, request)) {
      for (const entry of figures) entries.push({ period: label, entry, complete: complete(entry.key) });
    }
  }
  const finest = read
    .map(({ table }) => table.finest)
    .reduce((coarsest, finest) => (depthOf[finest] < depthOf[coarsest] ? finest : coarsest));
  return periodsAndTotals(
    granularity,
    entries,
    overAll,
    byPeriod,
    { from, to, firstCounted, lastCounted, finest },
    request,
  );
};

/**
 * What a read gives: the periods of the granularity asked for (for `life`, the totals) and the
 * totals over the range: the table's own when every month counted is in it, else the sums of the
 * whole periods that make it up (`partTotals`).
 */
const periodsAndTotals = (
  granularity: Granularity,
  entries: readonly PeriodEntry[],
  overAll: readonly PeriodEntry[],
  byPeriod: ReadonlyMap<string, readonly ReleasedEntry[]>,
  range: Parameters<typeof partTotals>[2],
  request: PeriodHierarchyRequest,
): PeriodEntry[] => {
  const { from, to, firstCounted, lastCounted } = range;
  const totals =
    from <= firstCounted && to >= lastCounted ? [...overAll] : partTotals(overAll, byPeriod, range, request);
  return [
    ...(granularity === 'life' ? totals.map((total) => ({ ...total, period: 'life' })) : entries),
    ...totals,
  ];
};

/** Whether a period is asked for: the range holds it whole (it cannot cut one: see checkRangeFits). */
const isAsked = (label: string, request: PeriodHierarchyRequest): boolean => {
  const [first, last] = monthsOfPeriod(label);
  return (request.from ?? first) <= first && last <= (request.to ?? last);
};

/** The first and last months of a period of the hierarchy: `2020`, `2020-Q2` or `2020-05`. */
const monthsOfPeriod = (label: string): readonly [string, string] => {
  const year = label.slice(0, 4);
  if (label.length === 4) return [`${year}-01`, `${year}-12`];
  const quarter = /^\d{4}-Q([1-4])$/.exec(label);
  if (!quarter) return [label, label];
  const last = Number(quarter[1]) * 3;
  const month = (number: number) => `${year}-${String(number).padStart(2, '0')}`;
  return [month(last - 2), month(last)];
};

/** The period of a granularity that holds a month, as labelled in releases. */
const periodHolding = (month: string, granularity: 'quarter' | 'year'): string =>
  granularity === 'year'
    ? month.slice(0, 4)
    : `${month.slice(0, 4)}-Q${Math.floor((Number(month.slice(5, 7)) - 1) / 3) + 1}`;

/**
 * Refuses a range that cuts a period of the granularity asked for: part of a quarter, set beside
 * the whole of it released elsewhere, would give the months left out away.
 */
const checkRangeFits = (granularity: Granularity, request: PeriodHierarchyRequest): void => {
  if (granularity !== 'quarter' && granularity !== 'year') return;
  for (const [bound, month] of [
    ['from', request.from],
    ['to', request.to],
  ] as const) {
    if (month === undefined) continue;
    const period = periodHolding(month, granularity);
    const [first, last] = monthsOfPeriod(period);
    if (month === (bound === 'from' ? first : last)) continue;
    throw new DisclosureError(
      `${request.what} cannot go to a ${request.audience} by ${granularity} ${bound} ${month}: ${period} would be ` +
        `counted in part, and beside the whole of ${period} released another time it would give the months left out away. ` +
        (bound === 'from'
          ? `Ask from ${first} or from ${nextMonth(last)}.`
          : `Ask to ${last} or to ${previousMonth(first)}.`),
    );
  }
};

/**
 * The whole periods of the table that make up the months `start` to `end`, each as coarse as fits
 * (whole years, then quarters, then months), down to `finest`; undefined when they cannot.
 */
const piecesOf = (start: string, end: string, finest: Granularity): string[] | undefined => {
  const depth = depthOf[finest];
  const pieces: string[] = [];
  for (let month = start; month <= end; ) {
    const piece = [periodHolding(month, 'year'), periodHolding(month, 'quarter'), month].find((period, i) => {
      const [first, last] = monthsOfPeriod(period);
      return i < depth && first === month && last <= end;
    });
    if (piece === undefined) return undefined;
    pieces.push(piece);
    month = nextMonth(monthsOfPeriod(piece)[1]);
  }
  return pieces;
};

/**
 * The totals over part of the months counted, one for each total over the whole of them: the
 * sum of the whole periods that make the range up, when every one of them was released (then
 * anyone could add them up), else hidden. A range those periods cannot make up is refused.
 */
const partTotals = (
  overAll: readonly PeriodEntry[],
  byPeriod: ReadonlyMap<string, readonly ReleasedEntry[]>,
  range: {
    readonly from: string;
    readonly to: string;
    readonly firstCounted: string;
    readonly lastCounted: string;
    readonly finest: Granularity;
  },
  request: PeriodHierarchyRequest,
): PeriodEntry[] => {
  const { from, to, firstCounted, lastCounted, finest } = range;
  // Before the first month counted and after the last, every month counts 0: there the range
  // reaches to the year's end, where periods end too.
  const start = from <= firstCounted ? `${firstCounted.slice(0, 4)}-01` : from;
  const end = to >= lastCounted ? `${lastCounted.slice(0, 4)}-12` : to;
  const pieces = piecesOf(start, end, finest);
  if (pieces === undefined) {
    throw new DisclosureError(
      `${request.what}${describedBy(request)} cannot go to a ${request.audience} as a total from ${from} to ${to}: ` +
        (finest === 'life'
          ? 'it can be protected only over every month counted. Leave out from and to.'
          : `such a total is released only as the sum of whole ${plural[finest]}, released one by one. ` +
            `Give from as the first month of a ${finest} and to as the last month of one.`),
    );
  }
  const breakdownOf = (key: Readonly<Record<string, string>>) =>
    JSON.stringify(request.by.map((d) => key[d] ?? null));
  const figures = pieces.map(
    (piece) => new Map((byPeriod.get(piece) ?? []).map((entry) => [breakdownOf(entry.key), entry])),
  );
  return overAll.map(({ entry, complete }) => {
    const breakdown = breakdownOf(entry.key);
    let sum = 0;
    for (const figure of figures) {
      const part = figure.get(breakdown);
      if (part === undefined || 'suppressed' in part) {
        return {
          period: 'total',
          entry: { key: entry.key, value: null, suppressed: 'partly-hidden' },
          complete,
        };
      }
      sum += part.value;
    }
    return { period: 'total', entry: { key: entry.key, value: sum }, complete };
  });
};

/** The breakdown as a refusal names it: ` by data.sex, data.area`, or nothing. */
const describedBy = (request: PeriodHierarchyRequest): string => {
  const asked = request.asked ?? request.by;
  return asked.length === 0 ? '' : ` by ${asked.join(', ')}`;
};

/** The table with the cells that share a key added together (months of one quarter, say). */
const merged = (table: CountTable): CountTable => {
  const cells = new Map<string, { key: Readonly<Record<string, string>>; value: number }>();
  for (const cell of table.cells) {
    const id = JSON.stringify(table.dimensions.map((d) => cell.key[d]));
    const known = cells.get(id);
    if (known) known.value += cell.value;
    else cells.set(id, { key: cell.key, value: cell.value });
  }
  return { ...table, cells: [...cells.values()] };
};
