import { ValidationError } from '@lantern/core';
import { fixRequest } from '../advice.js';

/**
 * Reporting periods. Observations are kept by month, so a month is the finest period there is:
 * that is also the finest that may leave the programme.
 */
export type Granularity = 'month' | 'quarter' | 'year' | 'life';
export const granularities: readonly Granularity[] = ['month', 'quarter', 'year', 'life'];

export interface Period {
  /** `2020-03`, `2020-Q1`, `2020` or `life`. */
  readonly label: string;
  /** First and last day, `YYYY-MM-DD`. */
  readonly start: string;
  readonly end: string;
}

const monthPattern = /^(\d{4})-(0[1-9]|1[0-2])$/;
const datePattern = /^(\d{4})-(0[1-9]|1[0-2])-(\d{2})$/;

export const checkGranularity = (granularity: unknown): Granularity => {
  if (!granularities.includes(granularity as Granularity)) {
    throw new ValidationError(
      '(query)',
      'period',
      `"${String(granularity)}" is not a reporting period`,
      `use one of ${granularities.join(', ')} (a month is the finest period)`,
      fixRequest,
    );
  }
  return granularity as Granularity;
};

/** The month a `YYYY-MM` or `YYYY-MM-DD` bound names; throws a clear error when it does not parse. */
export const parseMonthBound = (value: string, name: 'from' | 'to'): string => {
  const month = monthPattern.exec(value);
  if (month) return value;
  const date = datePattern.exec(value);
  if (
    date &&
    !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) &&
    new Date(`${value}T00:00:00Z`).toISOString().startsWith(value)
  ) {
    return value.slice(0, 7);
  }
  throw new ValidationError(
    '(query)',
    name,
    `"${value}" does not parse as a month or a date`,
    'write YYYY-MM or YYYY-MM-DD, e.g. 2020-03',
    fixRequest,
  );
};

/**
 * The months a request's `from` and `to` name, each optional; throws a clear error when one does
 * not parse, or when `from` is after `to`.
 */
export const parseMonthRange = (request: {
  readonly from?: string | undefined;
  readonly to?: string | undefined;
}): { from: string | undefined; to: string | undefined } => {
  const from = request.from === undefined ? undefined : parseMonthBound(request.from, 'from');
  const to = request.to === undefined ? undefined : parseMonthBound(request.to, 'to');
  if (from !== undefined && to !== undefined && from > to) {
    throw new ValidationError(
      '(query)',
      'from',
      `"${request.from}" is after "${request.to}"`,
      'give from before to',
      fixRequest,
    );
  }
  return { from, to };
};

const lastDayOf = (month: string): string => {
  const [year, m] = month.split('-').map(Number) as [number, number];
  const last = new Date(Date.UTC(year, m, 0)).getUTCDate();
  return `${month}-${String(last).padStart(2, '0')}`;
};

export const nextMonth = (month: string): string => {
  const [year, m] = month.split('-').map(Number) as [number, number];
  return m === 12 ? `${year + 1}-01` : `${year}-${String(m + 1).padStart(2, '0')}`;
};

export const previousMonth = (month: string): string => {
  const [year, m] = month.split('-').map(Number) as [number, number];
  return m === 1 ? `${year - 1}-12` : `${year}-${String(m - 1).padStart(2, '0')}`;
};

/** The months from `first` to `last`, both included. */
export const monthsBetween = (first: string, last: string): string[] => {
  const months: string[] = [];
  for (let month = first; month <= last; month = nextMonth(month)) months.push(month);
  return months;
};

/** The months a month's, a quarter's or a year's label spans (`2020-02`, `2020-Q1`, `2020`), in order. */
export const monthSpanOf = (label: string, granularity: 'month' | 'quarter' | 'year'): string[] => {
  if (granularity === 'month') return [label];
  if (granularity === 'year') return monthsBetween(`${label}-01`, `${label}-12`);
  const quarter = Number(label.slice(6));
  const first = `${label.slice(0, 4)}-${String(quarter * 3 - 2).padStart(2, '0')}`;
  return monthsBetween(first, `${label.slice(0, 4)}-${String(quarter * 3).padStart(2, '0')}`);
};

/** How coarse a granularity is, finest first: day, week, month, quarter, year, life. */
export const rankOf = (granularity: Granularity | 'day' | 'week'): number =>
  ['day', 'week', 'month', 'quarter', 'year', 'life'].indexOf(granularity);

/** The period of a month at a granularity; `life` spans `lifeStart`..`lifeEnd` (months). */
export const periodOf = (
  month: string,
  granularity: Granularity,
  lifeStart: string,
  lifeEnd: string,
): Period => {
  const year = month.slice(0, 4);
  switch (granularity) {
    case 'month':
      return { label: month, start: `${month}-01`, end: lastDayOf(month) };
    case 'quarter': {
      const quarter = Math.floor((Number(month.slice(5, 7)) - 1) / 3);
      const first = `${year}-${String(quarter * 3 + 1).padStart(2, '0')}`;
      const last = `${year}-${String(quarter * 3 + 3).padStart(2, '0')}`;
      return { label: `${year}-Q${quarter + 1}`, start: `${first}-01`, end: lastDayOf(last) };
    }
    case 'year':
      return { label: year, start: `${year}-01-01`, end: `${year}-12-31` };
    case 'life':
      return { label: 'life', start: `${lifeStart}-01`, end: lastDayOf(lifeEnd) };
  }
};
