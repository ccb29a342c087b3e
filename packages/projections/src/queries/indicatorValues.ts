import {
  daysBetween,
  type Principal,
  type ReadModelDocument,
  type ReadModelStore,
  ValidationError,
} from '@lantern/core';
import { fixRequest } from '../advice.js';
import type { CompiledIndicator } from '../indicators/compileIndicator.js';
import {
  type FlowObservation,
  type IndicatorProjection,
  type KeyedObservation,
  type ObservedMonths,
  observationKeyPrefix,
  observationsInDocuments,
  observedMonthsKey,
  type TargetDocument,
} from '../indicators/indicatorProjection.js';
import { reportableChildren } from '../indicators/reportingConsent.js';
import { noteLoadedFrom } from './funnelOrCases.js';
import { medianOf } from './median.js';
import {
  checkGranularity,
  type Granularity,
  monthsBetween,
  type Period,
  parseMonthRange,
  periodOf,
} from './periods.js';
import { releasedBy, requireFiguresFor } from './requireFiguresFor.js';

/**
 * Indicator values as the programme sees them (audience `internal`): actual, target and % of
 * target by period and by any of the indicator's dimensions, computed from the indicators
 * projection's observations. Disclosure control for other audiences is applied on top of these
 * (see releaseIndicator.ts); nothing here leaves the programme as it is, and only the programme's
 * staff are given it.
 */

export interface IndicatorRequest {
  /**
   * Who asks, checked before any work. `indicatorTable` gives internal figures, to the programme's
   * staff only (field workers, case managers, analysts); a donor or a service is refused and
   * pointed to `releaseIndicator`. Required.
   */
  principal: Principal;
  indicator: string;
  /** Default `life`. */
  period?: Granularity;
  /** First month counted, `YYYY-MM` (or a date in it). */
  from?: string;
  /** Last month counted, `YYYY-MM` (or a date in it). */
  to?: string;
  /** Dimensions to break the values down by: a subset of the indicator's. */
  by?: readonly string[];
}

export interface IndicatorRow {
  readonly period: Period;
  readonly dims: Readonly<Record<string, string>>;
  /** The value: a count, a sum, a percentage (ratio × scale) or a median of days. */
  readonly actual: number | null;
  /** Ratios: their parts. Medians: how many keys the median is taken over. */
  readonly numerator?: number;
  readonly denominator?: number;
  readonly observations?: number;
  readonly target?: number;
  readonly baseline?: number;
  /** actual ÷ target × 100, when there is a target above zero. */
  readonly percentOfTarget?: number;
}

export interface IndicatorTable {
  readonly indicator: string;
  readonly title: string;
  readonly unit: string;
  readonly measure: 'unit' | 'percentage';
  readonly kind: CompiledIndicator['kind'];
  readonly granularity: Granularity;
  readonly by: readonly string[];
  readonly rows: readonly IndicatorRow[];
  readonly note?: string;
}

/** Everything a query reads, loaded once. */
export interface IndicatorData {
  readonly observations: readonly ReadModelDocument[];
  readonly targets: readonly TargetDocument[];
  /**
   * Children whose latest consent allows reporting. Absent when the data was loaded for
   * indicators none of which is about a child or a case: their observations name no child, so
   * the consent is not read. An observation that names a child counts only when this holds it.
   */
  readonly reportable?: ReadonlySet<string>;
  /** The indicators whose observations were loaded; every one when absent. */
  readonly indicators?: ReadonlySet<string>;
  /**
   * The months the indicators projection has observed anything in, every indicator together
   * (whichever were loaded): a stock runs to the last of them. When absent, a stock runs to the
   * last month its own observations name.
   */
  readonly months?: ObservedMonths;
}

export interface LoadIndicatorDataOptions {
  /**
   * Load the observations of these indicators only (and of the parts of any ratio among them):
   * each is read by its keys' prefix, so one indicator costs what its own observations cost, not
   * what every indicator's do. Default: every indicator, for a report of them all.
   */
  readonly indicators?: readonly string[];
}

/** The compiled indicator with this id; a request naming none is refused, listing the ids there are. */
const indicatorNamed = (projection: IndicatorProjection, id: string, field: string): CompiledIndicator => {
  const indicator = projection.indicators.get(id);
  if (!indicator) {
    throw new ValidationError(
      '(query)',
      field,
      `there is no indicator "${id}"`,
      `use one of: ${[...projection.indicators.keys()].join(', ')}`,
      fixRequest,
    );
  }
  return indicator;
};

/** The indicators a load covers: those named, each ratio's parts with them. */
const indicatorsToLoad = (projection: IndicatorProjection, named: readonly string[]): CompiledIndicator[] => {
  const found = new Map<string, CompiledIndicator>();
  const add = (id: string): void => {
    const indicator = indicatorNamed(projection, id, 'indicators');
    if (found.has(id)) return;
    found.set(id, indicator);
    if (indicator.kind === 'ratio') {
      add(indicator.numerator);
      add(indicator.denominator);
    }
  };
  for (const id of named) add(id);
  return [...found.values()];
};

export const loadIndicatorData = async (
  readModels: ReadModelStore,
  projection: IndicatorProjection,
  options: LoadIndicatorDataOptions = {},
): Promise<IndicatorData> => {
  const named = options.indicators;
  if (named !== undefined && (!Array.isArray(named) || named.some((id) => typeof id !== 'string'))) {
    throw new TypeError(
      "loadIndicatorData's indicators must be a list of indicator ids; leave it out to load every indicator.",
    );
  }
  const chosen = named === undefined ? undefined : indicatorsToLoad(projection, named);
  // A ratio keeps no observations of its own, and its own `about` decides nothing: its parts,
  // loaded with it, are what is read and counted.
  const observed = chosen?.filter((indicator) => indicator.kind !== 'ratio');
  const aboutChildren = observed === undefined || observed.some((indicator) => indicator.about !== undefined);
  const observations = async (): Promise<ReadModelDocument[]> => {
    if (observed === undefined) {
      return (await readModels.documents(projection.name, 'observations')).map((row) => row.document);
    }
    const loaded = await Promise.all(
      observed.map((indicator) =>
        readModels.documents(projection.name, 'observations', {
          keyPrefix: observationKeyPrefix(indicator),
        }),
      ),
    );
    return loaded.flat().map((row) => row.document);
  };
  const [loaded, targets, reportable, months] = await Promise.all([
    observations(),
    readModels.documents(projection.name, 'targets'),
    aboutChildren ? reportableChildren(readModels, projection.name) : undefined,
    readModels.getDocument(projection.name, 'coverage', observedMonthsKey),
  ]);
  const data: IndicatorData = {
    observations: observationsInDocuments(projection.indicators, loaded),
    targets: targets.map((row) => row.document as TargetDocument),
    ...(reportable === undefined ? {} : { reportable }),
    ...(months === undefined ? {} : { months: months as ObservedMonths }),
    ...(chosen === undefined
      ? {}
      : { indicators: new Set(chosen.map((indicator) => indicator.indicator.id)) }),
  };
  noteLoadedFrom(data, readModels);
  return data;
};

/** Each observations array's observations by indicator, worked out on first use. */
const byIndicator = new WeakMap<readonly ReadModelDocument[], Map<string, ReadModelDocument[]>>();

/**
 * The observations of one indicator: grouped once per loaded data, so a table of every indicator
 * reads the observations once rather than once per indicator. Refused when the data was loaded
 * for other indicators only: its figures would read as zero.
 */
const observationsOf = (data: IndicatorData, id: string): readonly ReadModelDocument[] => {
  if (data.indicators !== undefined && !data.indicators.has(id)) {
    throw new ValidationError(
      '(query)',
      'indicator',
      `the data was loaded for ${[...data.indicators].map((loaded) => `"${loaded}"`).join(', ')} only, not "${id}"`,
      `name "${id}" too in loadIndicatorData's indicators, or leave them out to load every indicator`,
      fixRequest,
    );
  }
  let grouped = byIndicator.get(data.observations);
  if (grouped === undefined) {
    grouped = new Map();
    for (const observation of data.observations) {
      const indicator = String(observation.indicator);
      const own = grouped.get(indicator);
      if (own) own.push(observation);
      else grouped.set(indicator, [observation]);
    }
    byIndicator.set(data.observations, grouped);
  }
  return grouped.get(id) ?? [];
};

/** What one indicator of a load counts, and the months its observations span. */
interface Counted {
  /** Its observations of children whose consent allows reporting, and those about no child. */
  readonly counted: readonly ReadModelDocument[];
  /**
   * The first and last month any of its observations (counted or not) names; none when it has
   * none. A stock's runs on to the last month the indicators observed anything in
   * ({@link IndicatorData.months}): what was open then is open until it closes.
   */
  readonly span: { readonly first: string; readonly last: string } | undefined;
}

/** Each loaded data's {@link Counted} by indicator, worked out on first use: every release of it reads them. */
const countedByIndicator = new WeakMap<IndicatorData, Map<string, Counted>>();

const countedOf = (data: IndicatorData, indicator: CompiledIndicator): Counted => {
  const id = indicator.indicator.id;
  let known = countedByIndicator.get(data);
  if (known === undefined) {
    known = new Map();
    countedByIndicator.set(data, known);
  }
  const found = known.get(id);
  if (found !== undefined) return found;
  const own = observationsOf(data, id);
  // Without the consent read, a child is not counted: when unsure, protect the child.
  const counted = own.filter((o) => typeof o.child !== 'string' || data.reportable?.has(o.child) === true);
  // Months are text (YYYY-MM): compared as text, not Math.min'd.
  let first: string | undefined;
  let last: string | undefined;
  const see = (month: string): void => {
    if (first === undefined || month < first) first = month;
    if (last === undefined || month > last) last = month;
  };
  for (const o of own) {
    if ('month' in o) {
      see(String(o.month));
      continue;
    }
    const keyed = o as KeyedObservation;
    for (const date of [keyed.from, keyed.to, keyed.latest?.date, keyed.closed])
      if (date) see(date.slice(0, 7));
  }
  if (indicator.kind === 'active' && first !== undefined && data.months !== undefined) see(data.months.last);
  const result: Counted = {
    counted,
    span: first === undefined || last === undefined ? undefined : { first, last },
  };
  known.set(id, result);
  return result;
};

/** Checks a request against the indicator set before any data is read. */
export const checkRequest = (
  projection: IndicatorProjection,
  request: Omit<IndicatorRequest, 'principal'>,
): { indicator: CompiledIndicator; granularity: Granularity; by: string[]; from?: string; to?: string } => {
  const indicator = indicatorNamed(projection, request.indicator, 'indicator');
  const granularity = checkGranularity(request.period ?? 'life');
  const by = [...(request.by ?? [])];
  const known = indicator.dimensions.map((d) => d.path);
  for (const dimension of by) {
    if (!known.includes(dimension)) {
      throw new ValidationError(
        '(query)',
        'by',
        `indicator "${request.indicator}" cannot be broken down by "${dimension}"`,
        known.length > 0 ? `use one of: ${known.join(', ')}` : 'it has no dimensions; ask for totals',
        fixRequest,
      );
    }
  }
  const { from, to } = parseMonthRange(request);
  return {
    indicator,
    granularity,
    by,
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
  };
};

/**
 * A cell's key: its period label and the values of the breakdown's dimensions, each after its
 * length, so no two cells share one whatever the values hold. Built for every observation a
 * table reads, so without an array or JSON.
 */
const cellKey = (period: string, dims: Readonly<Record<string, string>>, by: readonly string[]): string => {
  let key = period;
  for (const d of by) {
    const value = dims[d] ?? 'unknown';
    key += `|${value.length}:${value}`;
  }
  return key;
};

const pick = (dims: Readonly<Record<string, string>>, by: readonly string[]): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const d of by) out[d] = dims[d] ?? 'unknown';
  return out;
};

/** The range asked for, or else the months from the first either part spans to the last. */
const spanOfParts = (
  data: IndicatorData,
  parts: readonly CompiledIndicator[],
  range: { from?: string; to?: string },
): { from?: string; to?: string } => {
  const spans = parts.flatMap((part) => {
    const span = countedOf(data, part).span;
    return span === undefined ? [] : [span];
  });
  if (spans.length === 0) return range;
  const from = range.from ?? spans.map((span) => span.first).sort()[0];
  const to =
    range.to ??
    spans
      .map((span) => span.last)
      .sort()
      .at(-1);
  return { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
};

interface Cell {
  period: Period;
  dims: Record<string, string>;
  sum: number;
  refs?: Set<string>;
  days?: number[];
}

/**
 * Values of one indicator (not a ratio) per period × breakdown, as plain numbers, over the months
 * in range. Consent: an observation about a child counts only if that child may be reported.
 */
const valuesOf = (
  indicator: Exclude<CompiledIndicator, { kind: 'ratio' }>,
  data: IndicatorData,
  granularity: Granularity,
  by: readonly string[],
  range: { from?: string; to?: string },
): Map<string, Cell> => {
  const { counted, span } = countedOf(data, indicator);
  const cells = new Map<string, Cell>();
  const monthsOf = (o: ReadModelDocument): string[] => {
    if ('month' in o) return [String(o.month)];
    const keyed = o as KeyedObservation;
    const at =
      indicator.kind === 'medianDays'
        ? keyed.to
        : indicator.kind === 'change'
          ? keyed.latest?.date
          : keyed.from;
    return at === undefined ? [] : [at.slice(0, 7)];
  };
  // The months the query covers: its range, or the months the data spans.
  const first = range.from ?? span?.first ?? '';
  const last = range.to ?? span?.last ?? '';
  if (first === '' || last === '') return cells;
  // A period per month, worked out once: a table reads many observations of few months.
  const periods = new Map<string, Period>();
  const cellFor = (month: string, dims: Readonly<Record<string, string>>): Cell => {
    let period = periods.get(month);
    if (!period) {
      period = periodOf(month, granularity, first, last);
      periods.set(month, period);
    }
    const key = cellKey(period.label, dims, by);
    let cell = cells.get(key);
    if (!cell) {
      cell = { period, dims: pick(dims, by), sum: 0 };
      cells.set(key, cell);
    }
    return cell;
  };
  const inRange = (month: string): boolean => month >= first && month <= last;

  if (indicator.kind === 'active') {
    // A stock: for each period, the keys open at its last day (or the range's last day).
    const periods = new Map<string, { month: string; end: string }>();
    for (const month of monthsBetween(first, last)) {
      const period = periodOf(month, granularity, first, last);
      const end = month === last ? periodOf(month, 'month', first, last).end : period.end;
      const known = periods.get(period.label);
      const cut = [end, period.end].sort()[0] as string;
      if (!known || cut > known.end) periods.set(period.label, { month, end: cut });
    }
    for (const { month, end } of periods.values()) {
      for (const o of counted as KeyedObservation[]) {
        if (o.from <= end && (o.closed === undefined || o.closed > end)) cellFor(month, o.dims).sum += 1;
      }
    }
    return cells;
  }

  for (const o of counted) {
    for (const month of monthsOf(o)) {
      if (!inRange(month)) continue;
      switch (indicator.kind) {
        case 'count':
        case 'sum':
          cellFor(month, (o as FlowObservation).dims).sum += Number((o as FlowObservation).value);
          break;
        case 'distinct': {
          const flow = o as FlowObservation;
          const cell = cellFor(month, flow.dims);
          cell.refs ??= new Set();
          cell.refs.add(flow.ref ?? '');
          break;
        }
        case 'linked': {
          const keyed = o as KeyedObservation;
          const done =
            keyed.to !== undefined &&
            (indicator.withinDays === undefined || daysBetween(keyed.from, keyed.to) <= indicator.withinDays);
          const cell = cellFor(month, keyed.dims);
          if (done) cell.sum += 1;
          break;
        }
        case 'change': {
          const keyed = o as KeyedObservation;
          if (keyed.first === undefined || keyed.latest === undefined) break;
          const cell = cellFor(month, keyed.dims);
          if (indicator.atLeast === undefined || keyed.latest.value - keyed.first >= indicator.atLeast)
            cell.sum += 1;
          break;
        }
        case 'medianDays': {
          const keyed = o as KeyedObservation;
          if (keyed.to === undefined) break;
          const cell = cellFor(month, keyed.dims);
          cell.days ??= [];
          cell.days.push(daysBetween(keyed.from, keyed.to));
          break;
        }
      }
    }
  }
  return cells;
};

const targetFor = (
  targets: readonly TargetDocument[],
  indicator: string,
  period: Period,
  granularity: Granularity,
): TargetDocument | undefined => {
  const own = targets.filter((t) => t.indicator === indicator);
  if (granularity === 'life') {
    // The programme-wide target: the one spanning the longest.
    return own.reduce<TargetDocument | undefined>(
      (best, t) =>
        !best || daysBetween(t.periodStart, t.periodEnd) > daysBetween(best.periodStart, best.periodEnd)
          ? t
          : best,
      undefined,
    );
  }
  return own.find((t) => t.periodStart === period.start && t.periodEnd === period.end);
};

const sortRows = <T extends { readonly period: Period; readonly dims: Readonly<Record<string, string>> }>(
  rows: T[],
  by: readonly string[],
): T[] =>
  rows.sort((a, b) => {
    if (a.period.start !== b.period.start) return a.period.start < b.period.start ? -1 : 1;
    for (const d of by) {
      const x = a.dims[d] ?? '';
      const y = b.dims[d] ?? '';
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  });

/**
 * The internal (unsuppressed) table of one indicator, for the programme's staff: the principal
 * must be given `internal` figures (a donor or a service gets AccessDeniedError, pointing to
 * `releaseIndicator`).
 */
export const indicatorTable = (
  projection: IndicatorProjection,
  data: IndicatorData,
  request: IndicatorRequest,
): IndicatorTable => {
  requireFiguresFor(request?.principal, {
    query: 'indicatorTable',
    audience: 'internal',
    instead: releasedBy('indicatorTable', 'releaseIndicator (or exportIndicator, audited)'),
  });
  return internalTable(projection, data, request);
};

/** The internal table, unchecked: for `releaseIndicator`, which checks its own principal. */
export const internalTable = (
  projection: IndicatorProjection,
  data: IndicatorData,
  request: Omit<IndicatorRequest, 'principal'>,
): IndicatorTable => {
  const { indicator, granularity, by, from, to } = checkRequest(projection, request);
  const range = { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
  const meta = indicator.indicator;
  const rows: IndicatorRow[] = [];
  const withTarget = (row: IndicatorRow): IndicatorRow => {
    if (by.length > 0) return row;
    const target = targetFor(data.targets, meta.id, row.period, granularity);
    if (!target) return row;
    return {
      ...row,
      target: target.value,
      ...(target.baseline === undefined ? {} : { baseline: target.baseline }),
      ...(target.value > 0 && row.actual !== null
        ? { percentOfTarget: Math.round((row.actual / target.value) * 1000) / 10 }
        : {}),
    };
  };

  if (indicator.kind === 'ratio') {
    const parts = [indicator.numerator, indicator.denominator].map(
      (id) => projection.indicators.get(id) as Exclude<CompiledIndicator, { kind: 'ratio' }>,
    );
    // A stock counts what is open at each period's end, whether or not its own events fall in
    // that period: over the months either part spans, so a period with no event of one part (no
    // club opened in February) still counts what it has open.
    const over = parts.some((part) => part.kind === 'active') ? spanOfParts(data, parts, range) : range;
    const [numerator, denominator] = parts.map((part) => valuesOf(part, data, granularity, by, over)) as [
      Map<string, Cell>,
      Map<string, Cell>,
    ];
    for (const [key, cell] of denominator) {
      const den = cell.refs?.size ?? cell.sum;
      const numCell = numerator.get(key);
      const num = numCell ? (numCell.refs?.size ?? numCell.sum) : 0;
      rows.push(
        withTarget({
          period: cell.period,
          dims: cell.dims,
          actual: den > 0 ? Math.round((num / den) * indicator.scale * 10) / 10 : null,
          numerator: num,
          denominator: den,
        }),
      );
    }
  } else {
    for (const cell of valuesOf(indicator, data, granularity, by, range).values()) {
      if (indicator.kind === 'medianDays') {
        const days = cell.days ?? [];
        rows.push(
          withTarget({
            period: cell.period,
            dims: cell.dims,
            actual: days.length > 0 ? medianOf(days) : null,
            observations: days.length,
          }),
        );
      } else {
        rows.push(withTarget({ period: cell.period, dims: cell.dims, actual: cell.refs?.size ?? cell.sum }));
      }
    }
  }
  return {
    indicator: meta.id,
    title: meta.title,
    unit: meta.unit,
    measure: meta.measure,
    kind: indicator.kind,
    granularity,
    by,
    rows: sortRows(rows, by),
    ...(meta.note === undefined ? {} : { note: meta.note }),
  };
};

/** One cell of a distinct indicator, with the values it counts once. */
export interface DistinctCell {
  readonly period: Period;
  readonly dims: Readonly<Record<string, string>>;
  /** What the cell counts once (households, staff…): its value is their number. */
  readonly refs: ReadonlySet<string>;
}

/**
 * The cells of a distinct indicator by period and breakdown, unchecked like `internalTable`, with
 * what each counts once, so that any total over cells can be counted as a union rather than a sum:
 * a household given aid in two districts is one household of their province. `mergeDims` (area
 * coarsening) maps each cell's breakdown first; cells that then share one are merged the same way.
 */
export const distinctCells = (
  projection: IndicatorProjection,
  data: IndicatorData,
  request: Omit<IndicatorRequest, 'principal'>,
  mergeDims: (dims: Readonly<Record<string, string>>) => Record<string, string> = (dims) => ({ ...dims }),
): DistinctCell[] => {
  const { indicator, granularity, by, from, to } = checkRequest(projection, request);
  if (indicator.kind !== 'distinct') {
    throw new TypeError(
      `distinctCells needs a distinct indicator; "${indicator.indicator.id}" is ${indicator.kind}.`,
    );
  }
  const range = { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
  const merged = new Map<string, { period: Period; dims: Record<string, string>; refs: Set<string> }>();
  for (const cell of valuesOf(indicator, data, granularity, by, range).values()) {
    const dims = mergeDims(cell.dims);
    const key = cellKey(cell.period.label, dims, by);
    const known = merged.get(key);
    if (!known) merged.set(key, { period: cell.period, dims, refs: new Set(cell.refs) });
    else for (const ref of cell.refs ?? []) known.refs.add(ref);
  }
  return [...merged.values()];
};

/** One cell of a median indicator: its period, breakdown, and the days it is the median of. */
export interface MedianCell {
  readonly period: Period;
  readonly dims: Readonly<Record<string, string>>;
  /** The median of `observations` days; null when there are none. */
  readonly median: number | null;
  readonly observations: number;
}

/**
 * The cells of a median indicator by period and breakdown, unchecked like `internalTable`, with
 * `mergeDims` (area coarsening) mapping each key's breakdown first: cells that then share one are
 * one cell, whose median is taken over the days of all of them (medians do not add up).
 */
export const medianCells = (
  projection: IndicatorProjection,
  data: IndicatorData,
  request: Omit<IndicatorRequest, 'principal'>,
  mergeDims: (dims: Readonly<Record<string, string>>) => Record<string, string>,
): MedianCell[] => {
  const { indicator, granularity, by, from, to } = checkRequest(projection, request);
  if (indicator.kind !== 'medianDays') {
    throw new TypeError(
      `medianCells needs a medianDays indicator; "${indicator.indicator.id}" is ${indicator.kind}.`,
    );
  }
  const range = { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
  const merged = new Map<string, { period: Period; dims: Record<string, string>; days: number[] }>();
  for (const cell of valuesOf(indicator, data, granularity, by, range).values()) {
    const dims = mergeDims(cell.dims);
    const key = cellKey(cell.period.label, dims, by);
    const known = merged.get(key);
    if (!known) merged.set(key, { period: cell.period, dims, days: [...(cell.days ?? [])] });
    else known.days.push(...(cell.days ?? []));
  }
  return sortRows(
    [...merged.values()].map(({ period, dims, days }) => ({
      period,
      dims,
      median: days.length > 0 ? medianOf(days) : null,
      observations: days.length,
    })),
    by,
  );
};
