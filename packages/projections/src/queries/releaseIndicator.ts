import { createHash } from 'node:crypto';
import {
  type Audience,
  DisclosureError,
  isDisclosureError,
  keepableTextOf,
  type Principal,
  ValidationError,
} from '@lantern/core';
import { fixRequest } from '../advice.js';
import {
  type AreaLevel,
  areaLevelOf,
  checkPeriodGranularity,
  coarsenArea,
  type DisclosurePolicy,
  defaultDisclosurePolicies,
  describeSuppression,
  type PeriodGranularity,
  protectCount,
  protectMedian,
  protectRatioTable,
  protectTable,
  type ReleasedEntry,
  type ReleasedRatioEntry,
  resolvePolicy,
  type SuppressionSummary,
} from '../disclosure/index.js';
import type { CompiledIndicator, CompiledRatio } from '../indicators/compileIndicator.js';
import type { IndicatorProjection } from '../indicators/indicatorProjection.js';
import {
  countEntriesOf,
  type FrozenEntry,
  type FrozenPeriod,
  frozenPeriodOf,
  keepPeriod,
  medianEntriesOf,
  ratioEntriesOf,
} from './frozenPeriods.js';
import { claimCaseFigures } from './funnelOrCases.js';
import {
  checkRequest,
  distinctCells,
  type IndicatorData,
  type IndicatorRequest,
  type IndicatorRow,
  internalTable,
  type MedianCell,
  medianCells,
} from './indicatorValues.js';
import {
  checkHierarchyRequest,
  firstKeepingTotal,
  type HierarchyShape,
  type MonthCount,
  type PeriodEntry,
  readVintages,
  subsetsOf,
  type VintageTable,
} from './periodHierarchy.js';
import { type Granularity, monthSpanOf, parseMonthBound, periodOf, rankOf } from './periods.js';
import { requireFiguresFor } from './requireFiguresFor.js';
import {
  cutOffOf,
  endedBy,
  type FrozenVintage,
  keepVintage,
  noteProtections,
  protectVintages,
  vintagesFor,
  vintagesIdentity,
  vintagesKey,
} from './vintages.js';

/**
 * Indicator values for an audience. Internal figures are exact; for donors and the public every
 * table goes through disclosure control: areas coarsened to the policy's level, small counts
 * shown as "<5", secondary suppression so no hidden value can be worked back from the totals,
 * percentages and medians released only when the counts behind them are not small.
 */

export interface ReleaseRequest extends IndicatorRequest {
  audience: Audience;
  /** Who asks: checked against the audience before any work. Required. */
  principal: Principal;
  /** Overrides of the audience's default policy (threshold, area level, finest period). */
  policy?: Partial<DisclosurePolicy>;
}

/**
 * One released figure: a number, or hidden with the reason. `primary`: a small count, shown as
 * "<5"; `secondary`: hidden so that no small count can be worked out, and itself 0 or not small;
 * `partly-hidden`: a total over part of the months counted, or a country, some period or province
 * under which is hidden, of any size; `few-observations`: a median over too few.
 */
export type ReleasedValue =
  | { readonly value: number }
  | {
      readonly value: string | null;
      readonly suppressed: 'primary' | 'secondary' | 'partly-hidden' | 'few-observations';
    };

export interface ReleasedIndicatorRow {
  /** The period label (`2020-03`, `2020-Q1`, `2020`, `life`), or `total` for a margin over periods. */
  readonly period: string;
  readonly dims: Readonly<Record<string, string>>;
  readonly actual: ReleasedValue;
  readonly target?: number;
  /** Only when the actual value is released. */
  readonly percentOfTarget?: number;
}

export interface ReleasedIndicator {
  readonly indicator: string;
  readonly title: string;
  readonly unit: string;
  readonly audience: Audience;
  readonly granularity: Granularity;
  readonly by: readonly string[];
  readonly rows: readonly ReleasedIndicatorRow[];
  /** Totals over any subset of the breakdown (key leaves out what it adds up over), as released. */
  readonly totals: readonly ReleasedIndicatorRow[];
  /** How many figures were hidden, and why; undefined when nothing could be. */
  readonly suppression: { readonly primary: number; readonly secondary: number } | undefined;
  readonly note?: string;
  /**
   * Outside the programme, for counts, sums and percentages (which go out in vintages: see
   * vintages.ts): the last month the figures reach, `YYYY-MM`. Each month's figures are as they
   * first went out; records of it made since are not in them. A report can say "as first
   * released, to March 2020".
   */
  readonly through?: string;
}

/**
 * What a release notes as it goes: what to claim once its figures go out, what it kept as they
 * went out (to keep, or to record first), and how far they reach.
 */
interface ReleaseNotes {
  /** Done once the figures are released (see `claimFigures`), and only then. */
  readonly claims: (() => void)[];
  /** New vintages the figures were read from, by their table's key (vintages.ts). */
  readonly vintages: Map<string, FrozenVintage>;
  /** Periods that ended, as they go out now, by key (frozenPeriods.ts). */
  readonly periods: Map<string, FrozenPeriod>;
  /** The last month of the vintages the figures were read from, if any. */
  through?: string;
}

/** A release, and the vintages and periods it made: what `releaseIndicator` records. */
export interface ReleaseMade {
  readonly released: ReleasedIndicator;
  readonly vintages: ReadonlyMap<string, FrozenVintage>;
  readonly periods: ReadonlyMap<string, FrozenPeriod>;
}

const periodDimension = 'period';
const areaDimension = 'data.area';

/**
 * The finest areas any audience outside the programme is given by default (a donor's provinces).
 * A donor reads the public's releases too, so the figures each is given must come from one
 * protection: it is made at these areas, and the public's countries are read out of it.
 */
const outsideAreaLevel = Math.max(
  defaultDisclosurePolicies.donor.areaLevel,
  defaultDisclosurePolicies.public.areaLevel,
) as AreaLevel;

/**
 * The policy every protection outside the programme is made with: the release's own, at areas
 * no coarser than {@link outsideAreaLevel}. Releases whose policies differ only in their areas
 * read one protection, each at its own areas (see {@link coarsenEntries}).
 */
const protectionPolicy = (policy: DisclosurePolicy): DisclosurePolicy =>
  policy.areaLevel >= outsideAreaLevel ? policy : { ...policy, areaLevel: outsideAreaLevel };

/**
 * Where a stock's figure for a period is kept and bound: a stock's period (a month, a quarter, a
 * year, the life of the programme) is the stock at one month — the period's last, or the month the
 * stock runs to (the release's `to` when it gives one, else the last month anything was recorded
 * in) when that comes first — so each is keyed by that month, and the life to March, the first quarter and March are
 * one figure whichever goes out first: apart, one counted after a consent was withdrawn, or a
 * club recorded late, would stand beside another as it went out. Any other figure is keyed by its
 * own granularity and period.
 */
const keyOfStock =
  (
    stock: boolean,
    granularity: Granularity,
    request: { readonly to?: string | undefined },
    data: IndicatorData,
    lifeEnd: string | undefined,
  ) =>
  (period: string): { at: Granularity; name: string } => {
    if (!stock) return { at: granularity, name: period };
    if (period === 'life')
      return lifeEnd === undefined ? { at: granularity, name: period } : { at: 'month', name: lifeEnd };
    const runEnd = request.to === undefined ? data.months?.last : request.to.slice(0, 7);
    const end = monthSpanOf(period, granularity as 'month' | 'quarter' | 'year').at(-1) as string;
    return { at: 'month', name: runEnd !== undefined && runEnd < end ? runEnd : end };
  };

/**
 * The policy a figure kept by the breakdown asked for (a median, a percentage each period alone)
 * is kept and bound under: without a breakdown by area, the same for every audience outside the
 * programme whose policies differ in their areas only (a donor's and the public's figure is one
 * figure), else the release's own, whose areas the figures are by.
 */
const keptPolicy = (policy: DisclosurePolicy, by: readonly string[]): DisclosurePolicy =>
  by.includes(areaDimension) ? policy : { ...policy, areaLevel: outsideAreaLevel };

/**
 * Figures read from a protection made at finer areas than the release's policy allows, with their
 * areas coarsened to it. Where every area coarsens to one (a programme in one country, released to
 * the public), each figure is the protection's total over the areas, its status and all. Otherwise
 * a coarser area's figure is the sum of the figures under it when each was released exactly (as
 * anyone could add them up), the figure itself when it stands alone, and else hidden as
 * `partly-hidden`. Figures that count each thing once (`additive` false) cannot be added up: a
 * breakdown by area is refused instead.
 */
const coarsenEntries = <T extends { readonly period: string; readonly entry: PeriodEntry['entry'] }>(
  read: readonly T[],
  level: AreaLevel,
  additive: boolean,
  what: string,
  audience: Audience,
): T[] => {
  const areas = new Set(
    read.flatMap(({ entry }) => (entry.key[areaDimension] === undefined ? [] : [entry.key[areaDimension]])),
  );
  if (areas.size === 0 || [...areas].every((area) => areaLevelOf(area) <= level)) return [...read];
  const coarser = new Set([...areas].map((area) => coarsenArea(area, level)));
  const without = (key: Readonly<Record<string, string>>) => {
    const { [areaDimension]: _area, ...rest } = key;
    return rest;
  };
  const idOf = (period: string, key: Readonly<Record<string, string>>) =>
    JSON.stringify([period, ...Object.entries(key).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
  // In one country, its figure is the protection's own total over the areas.
  const totals =
    coarser.size === 1
      ? new Map(
          read.flatMap((item) =>
            item.entry.key[areaDimension] === undefined
              ? [[idOf(item.period, item.entry.key), item] as const]
              : [],
          ),
        )
      : undefined;
  const refuse = () =>
    new DisclosureError(
      `${what} cannot go to a ${audience} by ${areaDimension}: it counts each thing once, so its figures by ` +
        `${[...coarser].join(', ')} cannot be added up from the finer areas it is protected at. Ask for it ` +
        'without that breakdown, or release it to internal staff only.',
    );
  if (totals === undefined && !additive) throw refuse();
  const groups = new Map<string, T[]>();
  for (const item of read) {
    const area = item.entry.key[areaDimension];
    if (area === undefined) continue;
    const id = idOf(item.period, { ...item.entry.key, [areaDimension]: coarsenArea(area, level) });
    groups.set(id, [...(groups.get(id) ?? []), item]);
  }
  const done = new Set<string>();
  return read.flatMap((item) => {
    const area = item.entry.key[areaDimension];
    if (area === undefined) return [item];
    const key = { ...item.entry.key, [areaDimension]: coarsenArea(area, level) };
    const id = idOf(item.period, key);
    if (done.has(id)) return [];
    done.add(id);
    const total = totals?.get(idOf(item.period, without(item.entry.key)));
    if (total !== undefined) return [{ ...item, entry: { ...total.entry, key } }];
    if (!additive) throw refuse();
    const under = groups.get(id) as T[];
    if (under.length === 1) return [{ ...item, entry: { ...item.entry, key } }];
    const exact = under.every(({ entry }) => !('suppressed' in entry));
    const entry: PeriodEntry['entry'] = exact
      ? { key, value: under.reduce((sum, { entry: e }) => sum + (e.value as number), 0) }
      : { key, value: null, suppressed: 'partly-hidden' };
    return [{ ...item, entry }];
  });
};

/** Reporting periods as disclosure control grades them: the life of a programme is coarser than a year. */
const disclosureGranularity = (granularity: Granularity): PeriodGranularity =>
  granularity === 'life' ? 'year' : granularity;

const summaryOf = (summary: SuppressionSummary) => ({
  primary: summary.cells.primary + summary.margins.primary,
  secondary: summary.cells.secondary + summary.margins.secondary,
});

const releasedOf = (
  entry: ReleasedEntry | ReleasedRatioEntry | PeriodEntry['entry'] | FrozenEntry,
): ReleasedValue =>
  'suppressed' in entry && entry.suppressed !== undefined
    ? { value: entry.value as string | null, suppressed: entry.suppressed }
    : entry.value === null
      ? { value: null, suppressed: 'primary' }
      : { value: entry.value as number };

/**
 * How many of the figures released were hidden, by why: a total hidden because a period under it
 * is counts as secondary, hidden so that no small count can be worked out.
 */
const suppressionOf = (...released: readonly (readonly ReleasedIndicatorRow[])[]) => {
  const hidden = (...why: readonly string[]) =>
    released.flat().filter((row) => 'suppressed' in row.actual && why.includes(row.actual.suppressed)).length;
  return { primary: hidden('primary'), secondary: hidden('secondary', 'partly-hidden') };
};

const rowOf = (
  entry: ReleasedEntry | ReleasedRatioEntry | PeriodEntry['entry'] | FrozenEntry,
  by: readonly string[],
) => {
  const dims: Record<string, string> = {};
  for (const d of by) if (entry.key[d] !== undefined) dims[d] = entry.key[d] as string;
  return { period: entry.key[periodDimension] ?? 'total', dims, actual: releasedOf(entry) };
};

/**
 * Indicator values by period and breakdown, fit for the audience (see the module comment), from
 * `data` as it is bound now: what `releaseIndicator` (recordedRelease.ts) gives once it has read
 * the register of releases into `data`'s guards, and records before handing the figures over.
 * Alone, it records nothing.
 */
export const releaseNow = (
  projection: IndicatorProjection,
  data: IndicatorData,
  request: ReleaseRequest,
): ReleasedIndicator => {
  const made = releaseMaking(projection, data, request);
  keepMade(data, made, false);
  return made.released;
};

/**
 * `releaseNow`, its vintages and periods given back rather than kept: `releaseIndicator` keeps
 * them once the register holds them, so that what a release kept is what went out recorded.
 */
export const releaseMaking = (
  projection: IndicatorProjection,
  data: IndicatorData,
  request: ReleaseRequest,
): ReleaseMade => {
  const notes: ReleaseNotes = { claims: [], vintages: new Map(), periods: new Map() };
  const released = releaseFigures(projection, data, request, notes);
  // Only figures that went out bind later releases: a refused release gave nothing away.
  for (const claim of notes.claims) claim();
  return {
    released: notes.through === undefined ? released : { ...released, through: notes.through },
    vintages: notes.vintages,
    periods: notes.periods,
  };
};

/** Keeps what a release made as `data`'s: see `keepVintage`, `keepPeriod`. */
export const keepMade = (data: IndicatorData, made: ReleaseMade, recorded: boolean): void => {
  for (const [key, vintage] of made.vintages) keepVintage(data, key, vintage, recorded);
  for (const [key, period] of made.periods) keepPeriod(data, key, period, recorded);
};

const releaseFigures = (
  projection: IndicatorProjection,
  data: IndicatorData,
  request: ReleaseRequest,
  /** Filled as the release goes: see `ReleaseNotes`. */
  notes: ReleaseNotes,
): ReleasedIndicator => {
  // Everything is checked before any figure is computed.
  requireFiguresFor(request.principal, { query: 'releaseIndicator', audience: request.audience });
  const policy = resolvePolicy(request.audience, request.policy);
  const { indicator, granularity, by } = checkRequest(projection, request);
  if (request.audience !== 'internal') {
    // Outside the programme, no breakdown by a field that names someone one by one.
    for (const dimension of indicator.dimensions) {
      if (dimension.identifies === undefined || !by.includes(dimension.path)) continue;
      throw new DisclosureError(
        `Indicator "${indicator.indicator.id}" broken down by ${dimension.path} would give the ${request.audience} ` +
          `${dimension.identifies} on every row, each row about one person or case. Outside the programme, ask ` +
          'for it by a dimension that describes (an area, a sex, an age band, a service), or without a breakdown; ' +
          'the programme\'s staff may read it so with audience "internal".',
      );
    }
    // Outside the programme, a range may not cut a period asked for, whatever the indicator.
    checkHierarchyRequest(granularity, {
      audience: request.audience,
      policy,
      by,
      what: `Indicator "${indicator.indicator.id}"`,
      ...rangeOf(request),
    });
    const given = figuresGiven(projection, indicator);
    notes.claims.push(
      claimFigures(data, indicator.indicator.id, given),
      claimCaseFigures(projection, data, indicator.indicator.id, given.keys()),
      claimEvents(projection, data, indicator.indicator.id, given),
    );
  }
  // Numerators and denominators add up over areas and periods, unless a part counts each
  // household once: then each period stands alone, and a breakdown would have totals that count
  // a household in two cells twice.
  const countsOnce =
    indicator.kind === 'ratio' &&
    [indicator.numerator, indicator.denominator].some(
      (part) => projection.indicators.get(part)?.kind === 'distinct',
    );
  if (countsOnce && by.length > 0) {
    throw new ValidationError(
      '(query)',
      'by',
      `indicator "${indicator.indicator.id}" is a ratio of distinct counts, whose totals over a breakdown do not add up`,
      'ask for it without a breakdown, or release its parts by breakdown',
      fixRequest,
    );
  }
  // A percentage of a stock (clubs open at a period's end) does not add up over time either:
  // a quarter's is the one at its end, not the sum of its months'. Each period goes out alone.
  const eachPeriodAlone =
    countsOnce ||
    (indicator.kind === 'ratio' &&
      [indicator.numerator, indicator.denominator].some(
        (part) => projection.indicators.get(part)?.kind === 'active',
      ));
  const table = internalTable(projection, data, request);
  const meta = indicator.indicator;
  const dimensions = [periodDimension, ...by];
  const keyOf = (period: string, dims: Readonly<Record<string, string>>): Record<string, string> => ({
    [periodDimension]: period,
    ...dims,
  });
  const periods = [...new Set(table.rows.map((row) => row.period.label))];
  const shape = {
    dimensions,
    categories: { [periodDimension]: periods },
    period: { dimension: periodDimension, granularity: disclosureGranularity(granularity) },
    ...(by.includes(areaDimension) ? { areaDimension } : {}),
  };
  const targetOf = (period: string, dims: Readonly<Record<string, string>>) =>
    by.length === 0 && Object.keys(dims).length === 0
      ? table.rows.find((row) => row.period.label === period)?.target
      : undefined;
  const withTarget = (
    row: Omit<ReleasedIndicatorRow, 'target' | 'percentOfTarget'>,
  ): ReleasedIndicatorRow => {
    const target = row.period === 'total' ? undefined : targetOf(row.period, row.dims);
    if (target === undefined) return row;
    const actual = row.actual;
    return {
      ...row,
      target,
      ...(!('suppressed' in actual) && target > 0
        ? { percentOfTarget: Math.round((actual.value / target) * 1000) / 10 }
        : {}),
    };
  };
  const base = {
    indicator: meta.id,
    title: meta.title,
    unit: meta.unit,
    audience: request.audience,
    granularity,
    by,
    ...(meta.note === undefined ? {} : { note: meta.note }),
  };

  /** A breakdown as the audience may see it: areas coarsened to the policy's level outside the programme. */
  const coarsened = (dims: Readonly<Record<string, string>>): Record<string, string> =>
    by.includes(areaDimension) && request.audience !== 'internal'
      ? { ...dims, [areaDimension]: coarsenArea(dims[areaDimension] ?? '', policy.areaLevel) }
      : { ...dims };

  if (table.rows.length === 0) {
    // Nothing in range (a quarter with no disclosure, a programme just launched): nothing to hide.
    checkPeriodGranularity(disclosureGranularity(granularity), request.audience, policy);
    return { ...base, rows: [], totals: [], suppression: { primary: 0, secondary: 0 } };
  }

  if (indicator.kind === 'ratio' && !eachPeriodAlone && request.audience !== 'internal') {
    return {
      ...base,
      ...releaseRatioOverPeriods(
        projection,
        data,
        { ...request, audience: request.audience },
        policy,
        by,
        new Set(periods),
        withTarget,
        notes,
      ),
    };
  }

  if (indicator.kind === 'ratio') {
    const merged = new Map<string, { key: Record<string, string>; numerator: number; denominator: number }>();
    for (const row of table.rows) {
      const key = keyOf(row.period.label, coarsened(row.dims));
      const id = JSON.stringify(dimensions.map((d) => key[d]));
      const known = merged.get(id) ?? { key, numerator: 0, denominator: 0 };
      known.numerator += row.numerator ?? 0;
      known.denominator += row.denominator ?? 0;
      merged.set(id, known);
    }
    const ratioCells = [...merged.values()];
    // Outside the programme, each period on its own: one that has ended goes out as it first went
    // out (frozenPeriods.ts), as a count of things counted once does.
    const alone = eachPeriodAlone && request.audience !== 'internal';
    // A percentage of stocks is the one at a period's last month, keyed so (keyOfStock).
    const stockKey = keyOfStock(
      eachPeriodAlone && !countsOnce,
      granularity,
      request,
      data,
      table.rows.find((row) => row.period.label === 'life')?.period.end.slice(0, 7),
    );
    const keyedBy = (at: Granularity) => frozenKeyBy(projection, meta.id, keptPolicy(policy, by), at, by);
    const frozenKey = (period: string) => keyedBy(stockKey(period).at)(stockKey(period).name);
    const kept = new Map(
      (alone ? periods : []).flatMap((period) => {
        const held = frozenPeriodOf(data, frozenKey(period));
        if (held === undefined) return [];
        // Kept under the month a stock's period is the stock at, perhaps by another period's
        // release: given as this period's.
        const entries = ratioEntriesOf(held, frozenKey(period)).map((entry) =>
          entry.key[periodDimension] === undefined
            ? entry
            : { ...entry, key: { ...entry.key, [periodDimension]: period } },
        );
        return [[period, entries] as const];
      }),
    );
    const fresh = periods.filter((period) => !kept.has(period));
    if (alone) {
      // Protected for the policy and breakdown asked for, as the tables below are. A period that
      // went out before without being kept (by an earlier version) is still bound by its digest.
      notes.claims.push(
        claimPeriods(
          data,
          `Indicator "${meta.id}" by ${granularity}${by.length === 0 ? '' : ` and ${by.join(', ')}`}`,
          new Map(
            fresh.map((period) => [
              periodClaim(
                projection,
                meta.id,
                keptPolicy(policy, by),
                stockKey(period).at,
                by,
                stockKey(period).name,
              ),
              {
                period,
                digest: digestOf(
                  ratioCells
                    .filter((cell) => cell.key[periodDimension] === period)
                    .map((cell) => [cell.key, cell.numerator, cell.denominator]),
                ),
              },
            ]),
          ),
        ),
      );
    }
    const protectedOwn = (own: readonly string[]) =>
      protectRatioTable(
        {
          ...shape,
          categories: { [periodDimension]: own },
          cells: ratioCells.filter((cell) => own.includes(cell.key[periodDimension] as string)),
        },
        request.audience,
        policy,
      );
    const made = new Map(
      (eachPeriodAlone ? fresh.map((period) => [period]) : [periods]).map(
        (own) => [own, protectedOwn(own)] as const,
      ),
    );
    const ended = endedFor(projection, data, request, policy.finestPeriod);
    for (const [own, released] of made) {
      const [period] = own;
      // Kept once the period it is keyed by has ended: a stock's, the month it is the stock at (the
      // life to March, once March has).
      if (alone && period !== undefined && ended(stockKey(period).name)) {
        notes.periods.set(frozenKey(period), {
          dimensions,
          entries: [...released.cells, ...released.margins],
        });
      }
    }
    const isCell = (entry: ReleasedRatioEntry) => dimensions.every((d) => entry.key[d] !== undefined);
    // In the order asked for, each as it went out or as protected now.
    const tables = eachPeriodAlone
      ? periods.map((period) => {
          const entries = kept.get(period);
          if (entries !== undefined) return entries;
          const released = [...made].find(([own]) => own[0] === period)?.[1];
          return released === undefined ? [] : [...released.cells, ...released.margins];
        })
      : [...made.values()].map((released) => [...released.cells, ...released.margins]);
    const rows = tables.flatMap((entries) =>
      entries.filter(isCell).map((entry) => withTarget(rowOf(entry, by))),
    );
    const totals = countsOnce
      ? []
      : tables.flatMap((entries) =>
          entries.filter((entry) => !isCell(entry)).map((entry) => rowOf(entry, by)),
        );
    // Percentages are withheld, never hidden to protect others: no secondary suppression.
    const withheld = tables.flat().filter((entry) => 'suppressed' in entry).length;
    return { ...base, rows, totals, suppression: { primary: withheld, secondary: 0 } };
  }

  if (indicator.kind === 'medianDays') {
    const rows = releaseMedians(
      projection,
      data,
      { ...request, id: meta.id },
      policy,
      granularity,
      by,
      notes,
    );
    return { ...base, rows: rows.map(withTarget), totals: [], suppression: undefined };
  }

  /** The table's rows as the audience may see them, those that coarsening gave one breakdown added together. */
  const summedRows = () => {
    const merged = new Map<string, { period: string; dims: Record<string, string>; value: number }>();
    for (const row of table.rows) {
      const dims = coarsened(row.dims);
      const id = JSON.stringify([row.period.label, ...by.map((d) => dims[d])]);
      const known = merged.get(id);
      if (known) known.value += row.actual ?? 0;
      else merged.set(id, { period: row.period.label, dims, value: row.actual ?? 0 });
    }
    return [...merged.values()];
  };

  if (meta.protect === false) {
    // Quantities of things: released exactly, with areas coarsened and periods checked.
    checkPeriodGranularity(disclosureGranularity(granularity), request.audience, policy);
    return {
      ...base,
      rows: summedRows().map((row) =>
        withTarget({ period: row.period, dims: row.dims, actual: { value: row.value } }),
      ),
      totals: [],
      suppression: undefined,
    };
  }

  const isCell = (entry: ReleasedEntry) => dimensions.every((d) => entry.key[d] !== undefined);
  if (indicator.kind === 'distinct' || indicator.kind === 'active') {
    // Not additive over time (a child counted in March and in April is one child in the quarter;
    // clubs open at two month-ends are not twice as many): each period is released on its own.
    // A stock adds up over its breakdown. What a distinct indicator counts once may sit in two
    // cells (a household given aid in two districts), so its coarsened cells and its totals are
    // counted as unions, never as sums.
    checkPeriodGranularity(disclosureGranularity(granularity), request.audience, policy);
    /**
     * A total of a distinct indicator: what the cells under it count, each once. The table was
     * protected as if its totals were sums; a union is at most that sum and at least its largest
     * cell, so it tells no more about a hidden cell than the sum would have. A union that is small
     * is shown as small, even where the sum was hidden as not small.
     */
    const recounted = (entry: ReleasedEntry, under: readonly PeriodCell[]): ReleasedEntry => {
      const union = new Set<string>();
      for (const cell of under) {
        if (Object.entries(entry.key).every(([d, v]) => cell.dims[d] === v)) {
          for (const ref of cell.refs ?? []) union.add(ref);
        }
      }
      const released: ReleasedEntry = {
        key: entry.key,
        ...protectCount(union.size, request.audience, policy),
      };
      if (!('suppressed' in entry)) return released;
      return entry.suppressed === 'secondary' && 'suppressed' in released ? released : entry;
    };
    const rows: ReleasedIndicatorRow[] = [];
    const totals: ReleasedIndicatorRow[] = [];
    if (request.audience !== 'internal') {
      // Outside the programme, every breakdown is read from one protection of each period by
      // every dimension the indicator has: released by sex and without a breakdown, a period's
      // total hidden in one would be given in the other.
      const audience = request.audience;
      const outside = protectionPolicy(policy);
      const what = `Indicator "${meta.id}"`;
      // A stock over the life of the programme is the stock at its last month: it is that month's
      // figure, kept once that month has ended, and another month's is another figure.
      const lifeEnd = table.rows.find((row) => row.period.label === 'life')?.period.end.slice(0, 7);
      // So is a stock's quarter or year the stock at its last month: see keyOfStock.
      const keyed = keyOfStock(indicator.kind === 'active', granularity, request, data, lifeEnd);
      // Periods that ended and went out before are given as they went out (frozenPeriods.ts).
      const frozenKey = (period: string) =>
        `frozen|${projection.name}|${meta.id}|${policyText(outside)}|${keyed(period).at}|${keyed(period).name}`;
      const frozen = new Map(
        periods.flatMap((period) => {
          const kept = frozenPeriodOf(data, frozenKey(period));
          return kept === undefined ? [] : [[period, kept] as const];
        }),
      );
      const fresh = periods.filter((period) => !frozen.has(period));
      /**
       * One protection for every audience outside the programme (see protectionPolicy) of the
       * periods `asked` of a granularity: each period by every dimension, and the digest of what
       * it is made from, which tells whether its figures changed since they went out.
       */
      const protectPeriods = (at: Granularity, asked: readonly string[], from?: string, to?: string) =>
        protectedOnce(data, meta.id, what, outside, [at, from, to, asked], () => {
          const cellsBy = (dims: string[]) =>
            periodCells(
              projection,
              data,
              {
                ...request,
                period: at,
                by: dims,
                ...(from === undefined ? {} : { from }),
                ...(to === undefined ? {} : { to }),
              },
              indicator.kind === 'distinct',
              outside,
            );
          const every = cellsBy(dimensionsOf(indicator));
          const digests = new Map(
            asked.map((period) => [
              period,
              digestOf(
                every
                  .filter((cell) => cell.period === period)
                  .map((cell) => [
                    cell.dims,
                    cell.value,
                    cell.refs === undefined ? null : [...cell.refs].sort(),
                  ]),
              ),
            ]),
          );
          // Every figure of each period, a distinct indicator's totals counted as unions.
          const tables = protectPeriodsApart(
            dimensionsOf(indicator),
            [...asked],
            audience,
            outside,
            cellsBy,
          ).map(({ period, dimensions, released, cells: own }) => ({
            period,
            dimensions,
            entries: released.map((entry) =>
              indicator.kind === 'distinct' && !dimensions.every((d) => entry.key[d] !== undefined)
                ? recounted(entry, own)
                : entry,
            ),
          }));
          return { tables, digests };
        });
      // None when every period was kept as it went out (with this policy).
      const made =
        fresh.length === 0
          ? { tables: [], digests: new Map<string, string>() }
          : protectPeriods(granularity, fresh, request.from, request.to);
      notes.claims.push(
        claimPeriods(
          data,
          `${what} by ${granularity}`,
          new Map(
            [...made.digests].map(([period, digest]) => [
              periodClaim(projection, meta.id, outside, keyed(period).at, undefined, keyed(period).name),
              { period, digest },
            ]),
          ),
        ),
      );
      // Those that have ended are kept as they go out now.
      const ended = endedFor(projection, data, request, outside.finestPeriod);
      const keptNow: string[] = [];
      for (const { period, dimensions, entries } of made.tables) {
        // Kept once the period it is keyed by has ended (for a stock, the month it is the stock at).
        if (!ended(keyed(period).name)) continue;
        notes.periods.set(frozenKey(period), { dimensions, entries });
        keptNow.push(period);
      }
      // With them, from the same figures, every ended month, quarter and year that overlaps them
      // and was not kept before: given anew later, a quarter counted once after a child's consent
      // was withdrawn could count fewer children than one of its months kept as it went out, and
      // tell the withdrawal (or, over its months, a child recorded late).
      // A stock's periods are kept as their last months already (`keyed`).
      if (granularity !== 'life' && indicator.kind === 'distinct') {
        const months = keptNow.flatMap((period) => monthSpanOf(period, granularity));
        for (const other of ['month', 'quarter', 'year'] as const) {
          if (other === granularity || rankOf(other) < rankOf(outside.finestPeriod)) continue;
          const otherKey = (period: string) =>
            `frozen|${projection.name}|${meta.id}|${policyText(outside)}|${other}|${period}`;
          const held = periodsReleased.get(data);
          const overlapping = [...new Set(months.map((month) => periodOf(month, other, month, month).label))]
            .filter(
              (period) =>
                ended(period) &&
                frozenPeriodOf(data, otherKey(period)) === undefined &&
                // Not past the months the release said were complete (`to`)…
                (request.to === undefined ||
                  (monthSpanOf(period, other).at(-1) as string) <= request.to.slice(0, 7)) &&
                // …nor one that went out before it ended: its figures may have changed since, and a
                // release of it checks them against what went out (`claimPeriods`).
                held?.has(periodClaim(projection, meta.id, outside, other, undefined, period)) !== true,
            )
            .sort();
          if (overlapping.length === 0) continue;
          const spans = overlapping.flatMap((period) => monthSpanOf(period, other));
          const companions = protectPeriods(other, overlapping, spans[0], spans.at(-1));
          for (const { period, dimensions, entries } of companions.tables) {
            notes.periods.set(otherKey(period), { dimensions, entries });
          }
        }
      }
      // In the order asked for, each as it went out or as protected now.
      const tables = periods.flatMap((period) => {
        const kept = frozen.get(period);
        if (kept !== undefined) {
          return [{ period, dimensions: kept.dimensions, entries: countEntriesOf(kept, frozenKey(period)) }];
        }
        return made.tables.filter((table) => table.period === period);
      });
      refuseGivenUp(
        what,
        audience,
        by,
        dimensionsOf(indicator).filter((d) => tables.every((table) => table.dimensions.includes(d))),
      );
      const read = tables.flatMap(({ period, dimensions, entries }) =>
        // The breakdown asked for and its totals: the other dimensions added up.
        entries.flatMap((entry) =>
          dimensions.some((d) => entry.key[d] !== undefined && !by.includes(d)) ? [] : [{ period, entry }],
        ),
      );
      // A stock adds up over areas; what is counted once does not.
      const additive = indicator.kind === 'active';
      for (const { period, entry } of coarsenEntries(
        read,
        policy.areaLevel,
        additive,
        `Indicator "${meta.id}"`,
        audience,
      )) {
        if (by.every((d) => entry.key[d] !== undefined))
          rows.push(withTarget({ ...rowOf(entry, by), period }));
        else totals.push({ ...rowOf(entry, by), period });
      }
      return { ...base, rows, totals, suppression: suppressionOf(rows, totals) };
    }
    // Internal: by the breakdown asked for, each period as it is.
    const cells: PeriodCell[] =
      indicator.kind === 'distinct'
        ? distinctCells(projection, data, request, coarsened).map((cell) => ({
            period: cell.period.label,
            dims: { ...cell.dims },
            value: cell.refs.size,
            refs: cell.refs,
          }))
        : summedRows();
    for (const period of periods) {
      const own = cells.filter((cell) => cell.period === period);
      if (by.length === 0) {
        const released = protectCount(own[0]?.value ?? 0, request.audience, policy);
        rows.push(withTarget({ period, dims: {}, actual: releasedOf({ key: {}, ...released }) }));
        continue;
      }
      const released = protectTable(
        {
          dimensions: by,
          cells: own.map((cell) => ({ key: cell.dims, value: cell.value })),
          ...(by.includes(areaDimension) ? { areaDimension } : {}),
        },
        request.audience,
        policy,
      );
      for (const entry of released.cells) rows.push({ ...rowOf(entry, by), period });
      for (const entry of released.margins) {
        const margin = indicator.kind === 'distinct' ? recounted(entry, own) : entry;
        totals.push({ ...rowOf(margin, by), period });
      }
    }
    return { ...base, rows, totals, suppression: suppressionOf(rows, totals) };
  }

  if (request.audience === 'internal') {
    const released = protectTable(
      {
        ...shape,
        cells: table.rows.map((row) => ({ key: keyOf(row.period.label, row.dims), value: row.actual ?? 0 })),
      },
      request.audience,
      policy,
    );
    return {
      ...base,
      rows: released.cells.map((entry) => withTarget(rowOf(entry, by))),
      totals: released.margins.filter((entry) => !isCell(entry)).map((entry) => rowOf(entry, by)),
      suppression: summaryOf(describeSuppression(released)),
    };
  }

  // Counts that add up over time, outside the programme: every granularity and every breakdown
  // from one protection of the whole period hierarchy by every dimension (see periodHierarchy.ts).
  // The numerator or denominator of a percentage is read from the percentage's table, so that the
  // three agree: a total hidden in one is hidden in the others.
  const percentage = percentageOf(projection, meta.id);
  const what = `Indicator "${meta.id}"`;
  const audience = request.audience;
  // One protection for every audience outside the programme (see protectionPolicy).
  const outside = protectionPolicy(policy);
  const hierarchyRequest = { audience, policy, by, what, ...rangeOf(request) };
  const entries = percentage
    ? ratioEntries(
        projection,
        data,
        { ...request, audience, indicator: percentage.ratio },
        policy,
        by,
        notes,
        meta.id,
      ).flatMap(({ entry, ...rest }) => {
        const side = entry.key[part];
        if (side !== (percentage.role === 'numerator' ? 'numerator' : undefined)) return [];
        const { [part]: _side, ...key } = entry.key;
        return [{ ...rest, entry: { ...entry, key }, complete: by.every((d) => key[d] !== undefined) }];
      })
    : coarsenEntries(
        readVintages(
          vintagedOnce(projection, data, meta.id, what, outside, request, notes, {
            dimensions: dimensionsOf(indicator),
            counts: () =>
              internalTable(projection, data, {
                ...everyMonth(request),
                by: dimensionsOf(indicator),
              }).rows.map((row) => ({ month: row.period.label, dims: row.dims, value: row.actual ?? 0 })),
            shape: {
              audience,
              policy: outside,
              dimensions: dimensionsOf(indicator),
              ...(dimensionsOf(indicator).includes(areaDimension) ? { areaDimension } : {}),
              what,
            },
          }),
          granularity,
          hierarchyRequest,
        ),
        policy.areaLevel,
        true,
        what,
        audience,
      );
  const asked = new Set(periods);
  const rows: ReleasedIndicatorRow[] = [];
  const totals: ReleasedIndicatorRow[] = [];
  for (const { period, entry, complete } of entries) {
    if (period !== 'total' && !asked.has(period)) continue;
    const row = { ...rowOf(entry, by), period };
    if (complete && period !== 'total') rows.push(withTarget(row));
    else totals.push(row);
  }
  return { ...base, rows, totals, suppression: suppressionOf(rows, totals) };
};

/** The dimension of a percentage's table that parts its denominator: `numerator`, `complement`. */
const part = '(part of the denominator)';

/** An indicator's dimensions, each once, in the order its definition names them. */
const dimensionsOf = (indicator: CompiledIndicator): string[] => [
  ...new Set(indicator.dimensions.map((dimension) => dimension.path)),
];

/**
 * Protections made, by the data they were made from: every release of the same figures to the
 * same audience reads the one made first (and the work of making it is done once). A refusal is
 * kept too, and given again.
 */
const protections = new WeakMap<IndicatorData, Map<string, unknown>>();

/** The policy each table's protections were made with, by the data they were made from. */
const policiesUsed = new WeakMap<IndicatorData, Map<string, DisclosurePolicy>>();

/** A policy as the register of releases keeps it: threshold, area level and finest period. */
const policyText = (policy: DisclosurePolicy): string =>
  `${policy.threshold}|${policy.areaLevel}|${policy.finestPeriod}`;

const policyOfText = (text: string): DisclosurePolicy => {
  const [threshold, areaLevel, finestPeriod] = text.split('|');
  return {
    threshold: Number(threshold),
    areaLevel: Number(areaLevel) as DisclosurePolicy['areaLevel'],
    finestPeriod: finestPeriod as DisclosurePolicy['finestPeriod'],
  };
};

/** The register's key of the policy a table went out with, and of the table a count went out from. */
const policyClaim = (projection: IndicatorProjection, table: string) => `policy|${projection.name}|${table}`;
const figuresClaim = (projection: IndicatorProjection, count: string) =>
  `figures|${projection.name}|${count}`;

/**
 * What releases outside the programme from `data` have bound so far, as the register of releases
 * keeps it (see `releaseRegister.ts`): each table's policy and each count's table.
 */
export const claimsMadeFrom = (projection: IndicatorProjection, data: IndicatorData): Map<string, string> => {
  const claims = new Map<string, string>();
  for (const [table, policy] of policiesUsed.get(data) ?? []) {
    claims.set(policyClaim(projection, table), policyText(policy));
  }
  for (const [count, table] of figuresReleased.get(data) ?? [])
    claims.set(figuresClaim(projection, count), table);
  for (const [key, digest] of periodsReleased.get(data) ?? []) claims.set(key, digest);
  for (const [eventType, role] of eventsReleased.get(data) ?? []) claims.set(eventsClaim(eventType), role);
  return claims;
};

/**
 * Binds `data`'s later releases by what the register says went out before (from another
 * process, say), as if those releases had been made from `data`. Where `data`'s own releases
 * already went out otherwise, the two cannot be reconciled, and that is refused.
 */
export const adoptClaims = (
  projection: IndicatorProjection,
  data: IndicatorData,
  claims: ReadonlyMap<string, string>,
): void => {
  const conflict = (what: string) =>
    new DisclosureError(
      `${what} went outside the programme from this data otherwise than the register of releases says it went ` +
        'before, from these read models. Protected apart, the two could give a small count away. Release it ' +
        'as it went out before, or, for readers who will never see the others, from read models of its own.',
    );
  let policies = policiesUsed.get(data);
  let figures = figuresReleased.get(data);
  for (const [key, value] of claims) {
    const [kind, name, subject] = key.split('|');
    // How counts read an event type binds every indicator projection on the store: two of them
    // over the same events would otherwise be guarded apart.
    if ((name !== projection.name && kind !== 'events') || subject === undefined) continue;
    if (kind === 'policy') {
      const policy = policyOfText(value);
      const own = policies?.get(subject);
      if (own !== undefined && policyText(own) !== value) throw conflict(`Indicator "${subject}"`);
      if (policies === undefined) {
        policies = new Map();
        policiesUsed.set(data, policies);
      }
      if (own === undefined) policies.set(subject, policy);
    } else if (kind === 'period') {
      // A period that went out, with the digest of its figures: kept as the register says; a
      // release of it whose figures changed is refused where it is asked for (`claimPeriods`).
      let periods = periodsReleased.get(data);
      const own = periods?.get(key);
      if (own !== undefined && own !== value) throw conflict(`The figures of "${subject}"`);
      if (periods === undefined) {
        periods = new Map();
        periodsReleased.set(data, periods);
      }
      periods.set(key, value);
    } else if (kind === 'events') {
      // The table counts of an event type went out from before: a release that would give them
      // from another is refused where it is asked for (`claimEvents`).
      let events = eventsReleased.get(data);
      const own = events?.get(subject);
      if (own !== undefined && own !== value) throw conflict(`A count of ${subject} events`);
      if (events === undefined) {
        events = new Map();
        eventsReleased.set(data, events);
      }
      if (own === undefined) events.set(subject, value);
    } else if (kind === 'figures') {
      const own = figures?.get(subject);
      if (own !== undefined && own !== value) throw conflict(`The figures of "${subject}"`);
      if (figures === undefined) {
        figures = new Map();
        figuresReleased.set(data, figures);
      }
      if (own === undefined) figures.set(subject, value);
    }
  }
};

/** Where a release for readers who will never see the others may be made from. */
const readModelsOfItsOwn =
  'read models of its own (another file or database, whose register of releases does not hold the other)';

/** A protection's policy in words; its areas only when finer than any outside audience's by default. */
const describePolicy = (policy: DisclosurePolicy): string =>
  `threshold ${policy.threshold}, periods by ${policy.finestPeriod} at the finest` +
  (policy.areaLevel > outsideAreaLevel ? ` and areas to level ${policy.areaLevel}` : '');

/**
 * The protection of `table` (an indicator, or a percentage with its parts) made with `policy`
 * for everyone outside the programme, made on first use and read by every later release (`rest`
 * tells apart what one table protects separately, such as each granularity of a distinct count).
 * A table already protected from this data with another policy is refused: the two protections
 * would hide different figures, and a reader given both could work a small count out.
 */
const protectedOnce = <T>(
  data: IndicatorData,
  table: string,
  /** Names what was asked for in a refusal: `Indicator "cases-disclosed"`. */
  what: string,
  policy: DisclosurePolicy,
  rest: readonly unknown[],
  protect: () => T,
): T => {
  let used = policiesUsed.get(data);
  if (!used) {
    used = new Map();
    policiesUsed.set(data, used);
  }
  const before = used.get(table);
  if (before !== undefined && policyText(before) !== policyText(policy)) {
    throw new DisclosureError(
      `${what} was released outside the programme from these read models with ${describePolicy(before)}; ` +
        `with ${describePolicy(policy)} it would be protected apart, and the two releases side by side could ` +
        'give a small count away. Give every release outside the programme the same threshold and finest ' +
        'period (areas coarser than a province are read from the same protection), or, if the two will never ' +
        `reach the same readers, make this release from ${readModelsOfItsOwn}.`,
    );
  }
  used.set(table, policy);
  let made = protections.get(data);
  if (!made) {
    made = new Map();
    protections.set(data, made);
  }
  const key = JSON.stringify([table, policy, ...rest]);
  if (!made.has(key)) {
    try {
      made.set(key, protect());
    } catch (error) {
      if (!isDisclosureError(error)) throw error;
      made.set(key, { refused: error });
    }
  }
  const found = made.get(key) as T | { refused: unknown };
  if (typeof found === 'object' && found !== null && 'refused' in found) throw found.refused;
  return found as T;
};

/**
 * The table each count's figures went out from, outside the programme, by the data they were
 * released from: the count's own, or a percentage's (which holds its numerator and denominator).
 */
const figuresReleased = new WeakMap<IndicatorData, Map<string, string>>();

/**
 * The counts whose figures a release of `indicator` outside the programme gives, each with the
 * table it gives them from: a count its own table, or that of the one percentage it is read from
 * (see `percentageOf`); a percentage its numerator and denominator, from its table. Quantities of
 * things (`protect: false`) are released exactly, and medians only over enough observations:
 * neither is protected by a table.
 */
const figuresGiven = (projection: IndicatorProjection, indicator: CompiledIndicator): Map<string, string> => {
  const given = new Map<string, string>();
  const id = indicator.indicator.id;
  const protectedCount = (count: string) => {
    const found = projection.indicators.get(count);
    return found !== undefined && found.indicator.protect !== false && found.kind !== 'medianDays';
  };
  if (indicator.kind === 'ratio') {
    for (const count of [indicator.numerator, indicator.denominator]) {
      if (protectedCount(count)) given.set(count, id);
    }
  } else if (protectedCount(id)) {
    const shared =
      indicator.kind === 'distinct' || indicator.kind === 'active' ? undefined : percentageOf(projection, id);
    given.set(id, shared?.ratio ?? id);
  }
  return given;
};

/**
 * Refuses a release outside the programme that would give a count's figures from another table
 * than they went out from before, from the same data; else gives what to note once it is made.
 * A count is part of one table only where every release of it reads that table. One that is part
 * of two percentages, or of a percentage that cannot read it from its table (a count of things
 * counted once, or one broken down by a dimension the percentage's table drops), is protected in
 * each table apart, hidden differently, and a reader given both could work a small count out.
 */
const claimFigures = (
  data: IndicatorData,
  /** The indicator asked for. */
  asked: string,
  /** What its release gives: see `figuresGiven`. */
  given: ReadonlyMap<string, string>,
): (() => void) => {
  const before = figuresReleased.get(data);
  const tableOf = (count: string, table: string) =>
    table === count ? 'its own table' : `the table of the percentage "${table}"`;
  for (const [count, table] of given) {
    const earlier = before?.get(count);
    if (earlier === undefined || earlier === table) continue;
    throw new DisclosureError(
      `Indicator "${asked}" would give the figures of "${count}" from ${tableOf(count, table)}, but they were ` +
        `released outside the programme from these read models from ${tableOf(count, earlier)}. Protected apart, the ` +
        'two would hide different figures, and side by side could give a small count away. Outside the ' +
        `programme, release "${count}" with one percentage it is part of at most, or, if the two will never ` +
        `reach the same readers, make this release from ${readModelsOfItsOwn}.`,
    );
  }
  return () => {
    let noted = figuresReleased.get(data);
    if (noted === undefined) {
      noted = new Map();
      figuresReleased.set(data, noted);
    }
    for (const [count, table] of given) noted.set(count, table);
  };
};

/**
 * Per data, for each event type that protected counts released outside the programme read, the
 * table they went out from: `<projection>|<table>`.
 */
const eventsReleased = new WeakMap<IndicatorData, Map<string, string>>();

/** The register's key of the table counts of an event type went out from, for every projection. */
const eventsClaim = (eventType: string) => `events|*|${eventType}`;

/**
 * Refuses, outside the programme, a release that would give counts of an event type from another
 * table than counts of that type went out from before, from data from the same read-model store;
 * else gives what to note once it is made. Two tables over the same events are protected apart,
 * and the events tie their figures: `cases-closed-goals-met` is `cases-closed` by reason, goals
 * met, and a disclosure names at least one concern and none twice, so where a month's concerns
 * are all one, the table of concerns gives its cases exactly. A figure one table hid, the other
 * could then give. Counts read from one table (a percentage and its parts) are one table.
 */
const claimEvents = (
  projection: IndicatorProjection,
  data: IndicatorData,
  asked: string,
  /** What the release gives: each count with the table it gives it from (see `figuresGiven`). */
  given: ReadonlyMap<string, string>,
): (() => void) => {
  const tables = new Map<string, string>();
  for (const [count, table] of given) {
    const indicator = projection.indicators.get(count);
    if (indicator === undefined || indicator.kind === 'ratio') continue;
    for (const eventType of indicator.indicator.definition.filter.eventTypes) {
      tables.set(eventType, `${projection.name}|${table}`);
    }
  }
  const before = eventsReleased.get(data);
  for (const [eventType, table] of tables) {
    const earlier = before?.get(eventType);
    if (earlier === undefined || earlier === table) continue;
    const [, earlierTable] = earlier.split('|');
    throw new DisclosureError(
      `Indicator "${asked}" would give counts of ${eventType} events from the table of "${table.split('|')[1]}", from ` +
        `these read models, from which counts of ${eventType} events went outside the programme from the table of ` +
        `"${earlierTable}". Protected apart, the two could give a small count away: the same events tie their ` +
        'figures (a count of one reason among all, a list of concerns beside the cases naming them). Outside the ' +
        'programme, release counts of one event type from one table (a percentage gives its parts from its own), ' +
        `or, if the two will never reach the same readers, make this release from ${readModelsOfItsOwn}.`,
    );
  }
  return () => {
    let noted = eventsReleased.get(data);
    if (noted === undefined) {
      noted = new Map();
      eventsReleased.set(data, noted);
    }
    for (const [eventType, table] of tables) if (!noted.has(eventType)) noted.set(eventType, table);
  };
};

/** One period's cell of an indicator that each period releases on its own (distinct, active). */
interface PeriodCell {
  readonly period: string;
  readonly dims: Readonly<Record<string, string>>;
  readonly value: number;
  /** What a distinct cell counts once. */
  readonly refs?: ReadonlySet<string>;
}

/**
 * Whether a period has ended for a release outside the programme (see `endedBy`): one that names
 * its last month says the months to it are complete; without one, a month nothing was recorded
 * in yet has not ended for it.
 */
const endedFor = (
  projection: IndicatorProjection,
  data: IndicatorData,
  request: ReleaseRequest,
  finest: PeriodGranularity,
): ((period: string) => boolean) =>
  endedBy(finest, projection.timeZone, request.to === undefined ? data.months?.last : undefined);

/**
 * The register's key of a period of a table kept by the breakdown asked for (a median, a
 * percentage each period alone): see frozenPeriods.ts.
 */
const frozenKeyBy =
  (
    projection: IndicatorProjection,
    table: string,
    policy: DisclosurePolicy,
    granularity: Granularity,
    by: readonly string[],
  ) =>
  (period: string): string =>
    `frozen|${projection.name}|${table}|${policyText(policy)}|${granularity}|${by.join(',')}|${period}`;

/**
 * A median indicator's rows for an audience. Inside the programme, each as it is. Outside it, by
 * areas coarsened to the policy's level, the median taken over the days of every key under each
 * (medians do not add up), and released only over enough of them. A period that has ended goes
 * out as it first went out, ever after (frozenPeriods.ts): placements of it recorded late reach the
 * programme's own figures only, and two releases of it cannot be set side by side to tell a late
 * child's days. One that had not ended (the life of the programme, the current quarter) is
 * bound by the medians it gave: a later release whose shown median moved, or is now hidden over
 * too few (a case withdrawn since), is refused. A median hidden over too few binds nothing, as it
 * gave nothing away: it may go out shown later, once there are enough.
 */
const releaseMedians = (
  projection: IndicatorProjection,
  data: IndicatorData,
  request: ReleaseRequest & { readonly id: string },
  policy: DisclosurePolicy,
  granularity: Granularity,
  by: readonly string[],
  notes: ReleaseNotes,
): ReleasedIndicatorRow[] => {
  const { id } = request;
  const outside = request.audience !== 'internal';
  const coarsen = (dims: Readonly<Record<string, string>>): Record<string, string> =>
    outside && dims[areaDimension] !== undefined
      ? { ...dims, [areaDimension]: coarsenArea(dims[areaDimension], policy.areaLevel) }
      : { ...dims };
  const entryOf = (cell: MedianCell): FrozenEntry => {
    const key = { [periodDimension]: cell.period.label, ...cell.dims };
    const released = protectMedian(
      { median: cell.median ?? 0, count: cell.observations },
      request.audience,
      policy,
    );
    return released.value === null
      ? { key, value: null, suppressed: 'few-observations' }
      : { key, value: released.value };
  };
  const cells = medianCells(projection, data, request, coarsen);
  if (!outside) return cells.map((cell) => rowOf(entryOf(cell), by));
  const periods = [...new Set(cells.map((cell) => cell.period.label))];
  const frozenKey = frozenKeyBy(projection, id, keptPolicy(policy, by), granularity, by);
  const ended = endedFor(projection, data, request, policy.finestPeriod);
  const claims = new Map<string, { period: string; digest: string }>();
  const entries = periods.flatMap((period) => {
    const kept = frozenPeriodOf(data, frozenKey(period));
    if (kept !== undefined) return medianEntriesOf(kept, frozenKey(period));
    const own = cells.filter((cell) => cell.period.label === period).map(entryOf);
    if (ended(period)) notes.periods.set(frozenKey(period), { dimensions: [...by], entries: own });
    // Ended or not, checked against what went out while it had not ended: a period kept now from
    // figures that moved since would give them ever after.
    for (const entry of own) {
      const where = by.map((d) => entry.key[d] ?? '').join(', ');
      claims.set(
        periodClaim(
          projection,
          id,
          keptPolicy(policy, by),
          granularity,
          by,
          where === '' ? period : `${period}|${where}`,
        ),
        {
          period: where === '' ? period : `${period} (${where})`,
          // Hidden now: checked against a median shown before, never recorded (see hiddenClaim).
          digest: 'suppressed' in entry ? hiddenClaim : String(entry.value),
        },
      );
    }
    return own;
  });
  notes.claims.push(
    claimPeriods(
      data,
      `The median "${id}" by ${granularity}${by.length === 0 ? '' : ` and ${by.join(', ')}`}`,
      claims,
    ),
  );
  return entries.map((entry) => rowOf(entry, by));
};

/**
 * The cells by period of a distinct or active indicator, by `request.by`, with areas coarsened
 * to the policy's level: a distinct cell counts what it holds once (its refs), an active one adds
 * up.
 */
const periodCells = (
  projection: IndicatorProjection,
  data: IndicatorData,
  request: IndicatorRequest,
  distinct: boolean,
  policy: DisclosurePolicy,
): PeriodCell[] => {
  const coarsen = (dims: Readonly<Record<string, string>>): Record<string, string> =>
    dims[areaDimension] === undefined
      ? { ...dims }
      : { ...dims, [areaDimension]: coarsenArea(dims[areaDimension], policy.areaLevel) };
  if (distinct) {
    return distinctCells(projection, data, request, coarsen).map((cell) => ({
      period: cell.period.label,
      dims: cell.dims,
      value: cell.refs.size,
      refs: cell.refs,
    }));
  }
  const merged = new Map<string, { period: string; dims: Record<string, string>; value: number }>();
  for (const row of internalTable(projection, data, request).rows) {
    const dims = coarsen(row.dims);
    const id = JSON.stringify([row.period.label, dims]);
    const known = merged.get(id);
    if (known) known.value += row.actual ?? 0;
    else merged.set(id, { period: row.period.label, dims, value: row.actual ?? 0 });
  }
  return [...merged.values()];
};

/** A period's table, protected on its own by the dimensions it kept. */
interface PeriodApart {
  readonly period: string;
  readonly dimensions: readonly string[];
  readonly released: readonly ReleasedEntry[];
  readonly cells: readonly PeriodCell[];
}

/**
 * Protects each period on its own, by as many of `dimensions` as it can keep without hiding its
 * total (all of them, else one fewer, the last given up first): every breakdown of a period is
 * then read from its one table, whichever other periods a release asks for with it.
 */
const protectPeriodsApart = (
  dimensions: readonly string[],
  periods: readonly string[],
  audience: Exclude<Audience, 'internal'>,
  policy: DisclosurePolicy,
  cellsBy: (dims: string[]) => PeriodCell[],
): PeriodApart[] => {
  const cellsFor = new Map<string, PeriodCell[]>();
  const cellsOf = (subset: string[]): PeriodCell[] => {
    const id = JSON.stringify(subset);
    let cells = cellsFor.get(id);
    if (cells === undefined) {
      cells = cellsBy(subset);
      cellsFor.set(id, cells);
    }
    return cells;
  };
  return periods.map((period) => {
    const attempts = subsetsOf(dimensions).map((subset) => (): PeriodApart => {
      const own = cellsOf(subset).filter((cell) => cell.period === period);
      if (subset.length === 0) {
        const total = own.reduce((sum, cell) => sum + cell.value, 0);
        return {
          period,
          dimensions: subset,
          cells: own,
          released: [{ key: {}, ...protectCount(total, audience, policy) }],
        };
      }
      const released = protectTable(
        {
          dimensions: subset,
          cells: own.map((cell) => ({ key: cell.dims, value: cell.value })),
          ...(subset.includes(areaDimension) ? { areaDimension } : {}),
        },
        audience,
        policy,
        { totalsFirst: subset },
      );
      return { period, dimensions: subset, cells: own, released: [...released.cells, ...released.margins] };
    });
    // Without a dimension the period's total goes out, or is "<5": that one is protected.
    return firstKeepingTotal(attempts, (made) => made.released) as PeriodApart;
  });
};

/** Refuses a breakdown by a dimension the one protection gave up, naming those it kept. */
const refuseGivenUp = (
  what: string,
  audience: Audience,
  by: readonly string[],
  kept: readonly string[],
): void => {
  const missing = by.filter((d) => !kept.includes(d));
  if (missing.length === 0) return;
  throw new DisclosureError(
    `${what} cannot go to a ${audience} by ${missing.join(', ')}: broken down so, some small count could be ` +
      'worked out from the totals whatever else were hidden. ' +
      `Ask for it ${kept.length === 0 ? 'without a breakdown' : `by ${kept.join(', ')} or without a breakdown`}, ` +
      'or release it to internal staff only.',
  );
};

/**
 * The digest of each period's figures as they first went outside the programme, by the data they
 * were released from (or adopted into from the register), by the period's claim (`periodClaim`).
 */
const periodsReleased = new WeakMap<IndicatorData, Map<string, string>>();

/**
 * The register's key of a period of a table that goes out period by period (a count of things
 * counted once, a stock, a percentage of those): its table, policy, granularity, breakdown (for a
 * percentage, protected by the breakdown asked for) and the period itself.
 */
const periodClaim = (
  projection: IndicatorProjection,
  table: string,
  policy: DisclosurePolicy,
  granularity: Granularity,
  by: readonly string[] | undefined,
  period: string,
) =>
  `period|${projection.name}|${table}|${policyText(policy)}|${granularity}|${by === undefined ? '' : by.join(',')}|${period}`;

/** A digest of what a period's table is made from: its cells, in a stable order. */
const digestOf = (cells: readonly unknown[]): string => {
  const texts = cells.map((cell) => JSON.stringify(cell)).sort();
  return createHash('sha256').update(JSON.stringify(texts)).digest('hex').slice(0, 32);
};

/**
 * Refuses a release outside the programme of periods, each protected on its own, whose figures
 * changed since they first went out (records made since, or consent withdrawn): protected again
 * from what they are now, a period's table may hide other figures than it did, and beside the
 * first release give a small count away. Counts that add up over time are given again as they
 * first went out instead (vintages.ts), and so are these once their period has ended
 * (frozenPeriods.ts): what is refused here is a period that had not ended, or one that went out
 * before it was kept. Else gives what to note once the release is made.
 */
/**
 * A claim's digest for a figure hidden over too few observations (a median): checked against what
 * went out before, so a median shown then and hidden now is refused, but never recorded, since a
 * hidden figure gave nothing away and may go out shown later.
 */
const hiddenClaim = 'hidden';

const claimPeriods = (
  data: IndicatorData,
  what: string,
  claims: ReadonlyMap<string, { readonly period: string; readonly digest: string }>,
): (() => void) => {
  const before = periodsReleased.get(data);
  const changed = [...claims].flatMap(([key, { period, digest }]) => {
    const held = before?.get(key);
    return held !== undefined && held !== digest ? [period] : [];
  });
  if (changed.length > 0) {
    throw new DisclosureError(
      `${what} for ${changed.join(', ')} went outside the programme before, and its figures have changed since ` +
        '(records made since, consent withdrawn, or, for the life of the programme, other months asked for): ' +
        'protected again, beside what went out they could give a ' +
        'small count away. Counts of things counted once, stocks, percentages of them and medians go out once per period: ' +
        'ask for the periods that have not gone out yet, after they have ended and their records are in, or give ' +
        'these to internal staff.',
    );
  }
  return () => {
    let noted = periodsReleased.get(data);
    if (noted === undefined) {
      noted = new Map();
      periodsReleased.set(data, noted);
    }
    for (const [key, { digest }] of claims)
      if (!noted.has(key) && digest !== hiddenClaim) noted.set(key, digest);
  };
};

/** What a table released outside the programme in vintages is made of: see `vintagedOnce`. */
interface VintagedTable {
  /** Every dimension its counts break down by, as its vintages keep them. */
  readonly dimensions: readonly string[];
  /** Its counts by month, as they are now: read only for a new vintage. */
  readonly counts: () => readonly MonthCount[];
  readonly shape: HierarchyShape;
}

/**
 * A table released outside the programme, in vintages (see vintages.ts): those it went out in
 * before, and a new one when the release reaches months they do not hold, each protected on its
 * own; made once per data and set of vintages, and read by every later release. The new vintage
 * becomes the data's once the release goes out (`notes`), to be recorded with it.
 */
const vintagedOnce = (
  projection: IndicatorProjection,
  data: IndicatorData,
  table: string,
  what: string,
  policy: DisclosurePolicy,
  request: IndicatorRequest,
  notes: ReleaseNotes,
  made: VintagedTable,
): VintageTable[] => {
  const cutOff = cutOffOf(policy.finestPeriod, projection.timeZone, new Date(), rangeOf(request).to);
  const key = vintagesKey(projection.name, table, policyText(policy));
  const { vintages, fresh } = vintagesFor(
    data,
    key,
    what,
    made.dimensions,
    cutOff,
    // A release that names its last month says the months to it are complete: they are taken
    // even when nothing was recorded in them. Without one, months after the last anything was
    // recorded in are left for a later vintage.
    request.to === undefined ? data.months?.last : cutOff,
    made.counts,
  );
  const tables = protectedOnce(data, table, what, policy, [vintagesIdentity(vintages)], () =>
    protectVintages(vintages, made.shape),
  );
  noteProtections(vintages, tables);
  if (fresh !== undefined) notes.vintages.set(key, fresh);
  // The figures reach the last vintage's last month, or the last month asked for before it.
  const last = tables.at(-1)?.last;
  if (last !== undefined) {
    const to = rangeOf(request).to;
    const reach = to !== undefined && to < last ? to : last;
    if (notes.through === undefined || reach > notes.through) notes.through = reach;
  }
  return tables;
};

/**
 * What a percentage's table is by: every dimension both its parts break down by, and any its
 * denominator alone does where the numerator's condition puts every numerator in one category
 * (`pinned`): the cases closed with goals met are the cases closed for the reason `goals-met`,
 * so the table by reason holds them exactly, and a release of the cases closed by reason reads it.
 */
interface RatioShape {
  readonly dimensions: readonly string[];
  readonly pinned: Readonly<Record<string, string>>;
}

const ratioShape = (projection: IndicatorProjection, ratio: CompiledRatio): RatioShape => {
  const numerator = projection.indicators.get(ratio.numerator) as CompiledIndicator;
  const own = dimensionsOf(numerator);
  const denominator = dimensionsOf(projection.indicators.get(ratio.denominator) as CompiledIndicator);
  const common = own.filter((d) => denominator.includes(d));
  const pinned: Record<string, string> = {};
  if (numerator.kind === 'count' && common.length === own.length) {
    for (const condition of numerator.indicator.definition.filter.where ?? []) {
      const { field } = condition;
      if (condition.op !== 'eq' || !denominator.includes(field) || common.includes(field)) continue;
      // The category as the indicators projection writes the field's value down.
      const { value } = condition;
      pinned[field] = typeof value === 'string' ? keepableTextOf(value) : String(value);
    }
  }
  return { dimensions: [...common, ...denominator.filter((d) => pinned[d] !== undefined)], pinned };
};

/**
 * The figures of a percentage's table (see `releaseRatioOverPeriods`): its numerator and
 * complement by period and breakdown, and their totals, the denominator among them. The table
 * keeps every dimension of its shape (see `ratioShape`), whatever breakdown is asked for.
 */
const ratioEntries = (
  projection: IndicatorProjection,
  data: IndicatorData,
  request: ReleaseRequest & { audience: 'donor' | 'public' },
  policy: DisclosurePolicy,
  by: readonly string[],
  /** Filled as the release goes: see `ReleaseNotes`. */
  notes: ReleaseNotes,
  /** The indicator a refusal names: the one asked for, the percentage or one of its parts. */
  asked: string = request.indicator,
): PeriodEntry[] => {
  const ratio = projection.indicators.get(request.indicator) as CompiledRatio;
  const granularity = request.period ?? 'life';
  const what = `Indicator "${asked}"`;
  const hierarchyRequest = {
    audience: request.audience,
    policy,
    by: [...by, part],
    asked: by,
    what,
    ...rangeOf(request),
  };
  // One protection for the percentage and both its parts, whichever of them is asked for.
  const outside = protectionPolicy(policy);
  const { dimensions, pinned } = ratioShape(projection, ratio);
  const tables = vintagedOnce(projection, data, ratio.indicator.id, what, outside, request, notes, {
    dimensions: [...dimensions, part],
    counts: () => {
      const common = dimensions.filter((d) => pinned[d] === undefined);
      const monthly = (id: string, by: readonly string[]) =>
        internalTable(projection, data, { indicator: id, period: 'month', by }).rows;
      const cellOf = (row: IndicatorRow) =>
        JSON.stringify([row.period.label, ...common.map((d) => row.dims[d])]);
      const numerators = new Map(
        monthly(ratio.numerator, common).map((row) => [cellOf(row), row.actual ?? 0]),
      );
      const pins = Object.entries(pinned);
      const months = monthly(ratio.denominator, dimensions).flatMap((row) => {
        // Where a dimension pins the numerator, it is all in that dimension's one category.
        const numerator = pins.every(([d, category]) => row.dims[d] === category)
          ? (numerators.get(cellOf(row)) ?? 0)
          : 0;
        return [
          { month: row.period.label, dims: { ...row.dims, [part]: 'numerator' }, value: numerator },
          {
            month: row.period.label,
            dims: { ...row.dims, [part]: 'complement' },
            value: (row.actual ?? 0) - numerator,
          },
        ];
      });
      return months;
    },
    shape: {
      audience: request.audience,
      policy: outside,
      dimensions,
      kept: [part],
      ...(dimensions.includes(areaDimension) ? { areaDimension } : {}),
      what: `Indicator "${ratio.indicator.id}" (with its parts "${ratio.numerator}" and "${ratio.denominator}")`,
    },
  });
  return coarsenEntries(
    readVintages(tables, granularity, hierarchyRequest),
    policy.areaLevel,
    true,
    what,
    request.audience,
  );
};

/**
 * A request for every month counted, whatever its range: counts released outside the programme
 * are protected over all the months of a vintage at once, and the range picks the figures out
 * (see periodHierarchy.ts, vintages.ts).
 */
const everyMonth = <R extends IndicatorRequest>({ from: _from, to: _to, ...rest }: R) =>
  ({ ...rest, period: 'month' }) as Omit<R, 'from' | 'to'>;

/** The months a request asks for, as `YYYY-MM` (checked by `checkRequest` already). */
const rangeOf = (request: IndicatorRequest) => ({
  ...(request.from === undefined ? {} : { from: parseMonthBound(request.from, 'from') }),
  ...(request.to === undefined ? {} : { to: parseMonthBound(request.to, 'to') }),
});

/**
 * The one percentage whose numerator or denominator `id` is, with parts that add up over time
 * and whose table keeps every dimension of `id`: every release of the count, by any breakdown,
 * is then read from the percentage's table and agrees with it. None when there is no such
 * percentage, or more than one.
 */
const percentageOf = (
  projection: IndicatorProjection,
  id: string,
): { readonly ratio: string; readonly role: 'numerator' | 'denominator' } | undefined => {
  const found: { ratio: string; role: 'numerator' | 'denominator' }[] = [];
  const own = dimensionsOf(projection.indicators.get(id) as CompiledIndicator);
  for (const [ratio, indicator] of projection.indicators) {
    if (indicator.kind !== 'ratio') continue;
    const parts = [indicator.numerator, indicator.denominator].map((p) => projection.indicators.get(p));
    const additive = parts.every((p) => p !== undefined && p.kind !== 'distinct' && p.kind !== 'active');
    if (!additive) continue;
    const kept = ratioShape(projection, indicator).dimensions;
    if (!own.every((d) => kept.includes(d))) continue;
    if (indicator.numerator === id) found.push({ ratio, role: 'numerator' });
    if (indicator.denominator === id) found.push({ ratio, role: 'denominator' });
  }
  return found.length === 1 ? found[0] : undefined;
};

/**
 * A percentage outside the programme, whose parts add up over time. With its denominator released
 * as a count elsewhere (cases disclosed, say), a percentage gives its numerator away: a year's, and
 * so a hidden quarter's, from the year and the other quarters. So its numerator and complement
 * (what the denominator counts beyond it) are protected as one count table of the whole period
 * hierarchy, the denominator being their total, whatever period is asked for; a percentage goes
 * out only where all three were released there.
 */
const releaseRatioOverPeriods = (
  projection: IndicatorProjection,
  data: IndicatorData,
  request: ReleaseRequest & { audience: 'donor' | 'public' },
  policy: DisclosurePolicy,
  by: readonly string[],
  asked: ReadonlySet<string>,
  withTarget: (row: Omit<ReleasedIndicatorRow, 'target' | 'percentOfTarget'>) => ReleasedIndicatorRow,
  notes: ReleaseNotes,
): Pick<ReleasedIndicator, 'rows' | 'totals' | 'suppression'> => {
  const entries = ratioEntries(projection, data, request, policy, by, notes);
  /** Each period and part of the breakdown: its numerator, complement and denominator as released. */
  const groups = new Map<
    string,
    {
      period: string;
      dims: Record<string, string>;
      complete: boolean;
      parts: Map<string, PeriodEntry['entry']>;
    }
  >();
  for (const { period, entry } of entries) {
    if (period !== 'total' && !asked.has(period)) continue;
    const id = JSON.stringify([period, ...by.map((d) => entry.key[d] ?? null)]);
    let group = groups.get(id);
    if (!group) {
      const dims: Record<string, string> = {};
      for (const d of by) if (entry.key[d] !== undefined) dims[d] = entry.key[d] as string;
      group = { period, dims, complete: by.every((d) => entry.key[d] !== undefined), parts: new Map() };
      groups.set(id, group);
    }
    group.parts.set(entry.key[part] ?? 'denominator', entry);
  }
  const rows: ReleasedIndicatorRow[] = [];
  const totals: ReleasedIndicatorRow[] = [];
  for (const { period, dims, complete, parts } of groups.values()) {
    const [numerator, complement, denominator] = ['numerator', 'complement', 'denominator'].map((name) =>
      parts.get(name),
    );
    const exact = [numerator, complement, denominator].map((entry) =>
      entry !== undefined && !('suppressed' in entry) ? (entry.value as number) : undefined,
    );
    const hiddenAs = (why: string) =>
      [numerator, complement, denominator].some(
        (entry) => entry !== undefined && 'suppressed' in entry && entry.suppressed === why,
      );
    const [n, c, d] = exact;
    const actual: ReleasedValue =
      n !== undefined && c !== undefined && d !== undefined && d > 0
        ? { value: (100 * n) / d }
        : d === 0 || hiddenAs('primary')
          ? { value: null, suppressed: 'primary' }
          : { value: null, suppressed: hiddenAs('partly-hidden') ? 'partly-hidden' : 'secondary' };
    if (complete && period !== 'total') rows.push(withTarget({ period, dims, actual }));
    else totals.push({ period, dims, actual });
  }
  return { rows, totals, suppression: suppressionOf(rows, totals) };
};
