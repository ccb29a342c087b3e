/**
 * Calendar helpers. Field events keep their own offset; periods are cut in the programme's
 * time zone, so a night shift at 23:30 on 31 May counts in May even though it is June in UTC.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Building an Intl formatter is slow; keep one per time zone and kind. */
const cachedFormatter = (
  kind: 'date' | 'time',
  timeZone: string,
  options: Intl.DateTimeFormatOptions,
): Intl.DateTimeFormat => {
  const key = `${kind}|${timeZone}`;
  let formatter = formatters.get(key);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat(kind === 'date' ? 'en-CA' : 'en-GB', { timeZone, ...options });
    formatters.set(key, formatter);
  }
  return formatter;
};

const formatterFor = (timeZone: string): Intl.DateTimeFormat =>
  cachedFormatter('date', timeZone, { year: 'numeric', month: '2-digit', day: '2-digit' });

/** True when `timeZone` is an IANA zone this runtime knows, e.g. `Asia/Phnom_Penh`. */
export const isKnownTimeZone = (timeZone: string): boolean => {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
};

/** The calendar date (`YYYY-MM-DD`) on which an instant falls in `timeZone`. */
export const localDateOf = (instant: string | Date, timeZone: string): string => {
  const date = typeof instant === 'string' ? new Date(instant) : instant;
  const parts = formatterFor(timeZone).formatToParts(date);
  const part = (type: Intl.DateTimeFormatPartTypes): string =>
    parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
};

/** The local time of day of an instant in `timeZone`: its hour (0–23) and `HH:MM`. */
export const localTimeOf = (instant: string | Date, timeZone: string): { hour: number; text: string } => {
  const date = typeof instant === 'string' ? new Date(instant) : instant;
  const parts = cachedFormatter('time', timeZone, {
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(date);
  const hour = parts.find((p) => p.type === 'hour')?.value ?? '00';
  const minute = parts.find((p) => p.type === 'minute')?.value ?? '00';
  return { hour: Number(hour), text: `${hour}:${minute}` };
};

const DAY_MS = 86_400_000;

/** Whole days from one calendar date to another (`2020-01-31` → `2020-02-01` is 1). */
export const daysBetween = (fromDate: string, toDate: string): number =>
  Math.round((Date.parse(`${toDate}T00:00:00Z`) - Date.parse(`${fromDate}T00:00:00Z`)) / DAY_MS);

/** The calendar date `days` after `date`. */
export const addDays = (date: string, days: number): string =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);

/** The calendar date one year after `date` (29 Feb moves to 1 Mar). */
export const addYears = (date: string, years: number): string => {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d.toISOString().slice(0, 10);
};
