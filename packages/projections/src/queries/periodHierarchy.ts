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
import type { Granularity } from './periods.js';

/**
 * Counts that add up over time, released outside the programme. A donor may ask for the same
 * figures by quarter and by year: a quarter hidden in one release must not be worked back from
 * the year released in the other. So every granularity is read from one protection of the whole
 * period hierarchy over the same months (each month, its quarter, its year, the total), whatever
 * granularity is asked for: each release shows a part of it. The table is as fine as the policy
 * allows and can be protected: by months, else quarters, else years, else (with a breakdown) the
 * whole range; a request finer than that is refused, so every request of the same figures reads
 * the same protection.
 */

/** One month's count for one combination of the breakdown. */
export interface MonthCount {
  /** `YYYY-MM`. */
  readonly month: string;
  readonly dims: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One released figure of a period (or of the whole range: `total`) and a part of the breakdown. */
export interface PeriodEntry {
  /** `2020-05`, `2020-Q2`, `2020`, `life`; or `total` for the whole range at any granularity. */
  readonly period: string;
  readonly entry: ReleasedEntry;
  /** Whether it names every dimension of the breakdown (a cell) rather than a total over some. */
  readonly complete: boolean;
}

export interface PeriodHierarchyRequest {
  readonly audience: Exclude<Audience, 'internal'>;
  readonly policy: DisclosurePolicy;
  readonly by: readonly string[];
  /** The breakdown's area dimension, coarsened to the policy's level. */
  readonly areaDimension?: string;
  /** Names the figures in a refusal: `Indicator "cases-disclosed"`. */
  readonly what: string;
  /** The breakdown as a refusal names it, when `by` holds more than the request's. Default `by`. */
  readonly asked?: readonly string[];
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

/**
 * Protects the month counts' whole period hierarchy for the audience and gives back the figures
 * of `granularity`: every period's cells and totals over the breakdown, and the totals over the
 * whole range (`total`). A DisclosureError when `granularity` is finer than the hierarchy could
 * be protected at, saying which period to ask for.
 */
export const releaseOverPeriods = (
  counts: readonly MonthCount[],
  granularity: Granularity,
  request: PeriodHierarchyRequest,
): PeriodEntry[] => {
  const { by, policy, audience } = request;
  // The life of a programme is coarser than a year, and may be released wherever a year may.
  checkPeriodGranularity(granularity === 'life' ? 'year' : granularity, audience, policy);
  // Nothing counted in the range (a programme just launched): nothing to hide, no period to show.
  if (counts.length === 0) return [];
  const levelsTried = (['month', 'quarter', 'year', 'life'] as const).filter(
    // The whole range alone (no period level) only with a breakdown: a table needs a dimension.
    (level) =>
      depthOf[level] <= depthOf[finestLevel(policy.finestPeriod)] && (level !== 'life' || by.length > 0),
  );
  let protectedTable: { released: ReleasedTable; levels: readonly string[]; finest: Granularity } | undefined;
  for (const [i, finest] of levelsTried.entries()) {
    const levels = hierarchy.slice(0, depthOf[finest]);
    const years = [...new Set(counts.map((count) => count.month.slice(0, 4)))].sort();
    let table: CountTable = merged({
      dimensions: [...levels, ...by],
      categories: {
        ...(levels.includes(yearLevel) ? { [yearLevel]: years } : {}),
        ...(levels.includes(quarterLevel) ? { [quarterLevel]: ['Q1', 'Q2', 'Q3', 'Q4'] } : {}),
        ...(levels.includes(monthLevel) ? { [monthLevel]: ['1', '2', '3'] } : {}),
      },
      // Months that fall in one cell of a coarser level are added up by `merged`.
      cells: counts.map((count) => ({
        key: { ...levelsOf(count.month, levels.length), ...count.dims },
        value: count.value,
      })),
      ...(request.areaDimension === undefined ? {} : { areaDimension: request.areaDimension }),
    });
    if (request.areaDimension !== undefined) {
      table = coarsenAreas(table, request.areaDimension, policy.areaLevel);
    }
    try {
      protectedTable = { released: protectTable(table, audience, policy), levels, finest };
      break;
    } catch (error) {
      if (!isDisclosureError(error)) throw error;
      if (i === levelsTried.length - 1) {
        // Its message names the levels of the hierarchy, which no request names.
        throw new DisclosureError(
          `${request.what}${describedBy(request)} cannot go to a ${audience} by any period: some small count ` +
            'could be worked out from the totals and the "<5" labels whatever else were hidden. Merge small ' +
            'categories or coarsen areas, or release it to internal staff only.',
        );
      }
    }
  }
  const { released, levels, finest } = protectedTable as NonNullable<typeof protectedTable>;
  if (depthOf[granularity] > depthOf[finest]) {
    throw new DisclosureError(
      `${request.what}${describedBy(request)} cannot go to a ${audience} by ${granularity}: ` +
        `its small counts could be worked out from the ${plural[granularity]} and their totals whatever else were hidden. ` +
        `Ask for it ${finest === 'life' ? 'over the whole range (period: life)' : `by ${finest} or coarser`}, or with fewer breakdowns.`,
    );
  }
  const entries: PeriodEntry[] = [];
  const overAll: PeriodEntry[] = [];
  for (const entry of [...released.cells, ...released.margins]) {
    const depth = depthIn(entry.key, levels);
    // Only whole periods are released: a total over every first month of a quarter, say, is part
    // of the protection and of no release.
    if (depth === undefined) continue;
    const complete = by.every((d) => entry.key[d] !== undefined);
    if (depth === 0) overAll.push({ period: 'total', entry, complete });
    if (depth !== depthOf[granularity]) continue;
    entries.push({ period: granularity === 'life' ? 'life' : periodLabelOf(entry.key), entry, complete });
  }
  return [...entries, ...overAll];
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
