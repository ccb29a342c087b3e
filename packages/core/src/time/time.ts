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

/** Two decimal digits at `at` as a number, or -1 when either is not a digit. */
const twoDigitsAt = (text: string, at: number): number => {
  const tens = text.charCodeAt(at) - 48;
  const units = text.charCodeAt(at + 1) - 48;
  return tens >= 0 && tens <= 9 && units >= 0 && units <= 9 ? tens * 10 + units : -1;
};

const inRange = (value: number, least: number, most: number): boolean => value >= least && value <= most;

/**
 * The length of an instant's zone (1 for `Z`, 6 for `+07:00`) when it is written
 * `YYYY-MM-DDTHH:MM:SS`, then at most three fraction digits, then its zone, on a day from the
 * 1st to the 28th (a date valid in every month); 0 for any other string, valid or not.
 */
const simpleInstantZone = (text: string): number => {
  const length = text.length;
  if (length < 20 || length > 29) return 0;
  if (twoDigitsAt(text, 0) < 0 || twoDigitsAt(text, 2) < 0) return 0;
  if (text[4] !== '-' || text[7] !== '-' || text[10] !== 'T' || text[13] !== ':' || text[16] !== ':')
    return 0;
  if (!inRange(twoDigitsAt(text, 5), 1, 12) || !inRange(twoDigitsAt(text, 8), 1, 28)) return 0;
  if (!inRange(twoDigitsAt(text, 11), 0, 23)) return 0;
  if (!inRange(twoDigitsAt(text, 14), 0, 59) || !inRange(twoDigitsAt(text, 17), 0, 59)) return 0;
  let at = 19;
  if (text[at] === '.') {
    const from = ++at;
    while (at < length && inRange(text.charCodeAt(at), 48, 57)) at++;
    if (at === from || at - from > 3) return 0;
  }
  const zone = length - at;
  if (zone === 1) return text[at] === 'Z' ? 1 : 0;
  if (zone !== 6 || (text[at] !== '+' && text[at] !== '-') || text[at + 3] !== ':') return 0;
  return inRange(twoDigitsAt(text, at + 1), 0, 23) && inRange(twoDigitsAt(text, at + 4), 0, 59) ? 6 : 0;
};

/**
 * Whether instant `later` is after instant `earlier`, exactly as `Date.parse` orders them. Two
 * instants written alike — one zone, one length, at most milliseconds — compare as text, for a
 * tenth of the cost of parsing both (a night shift's end is checked against its start on every
 * append); any other pair is parsed.
 */
export const instantIsAfter = (later: string, earlier: string): boolean => {
  const zone = simpleInstantZone(later);
  if (zone > 0 && later.length === earlier.length && simpleInstantZone(earlier) === zone) {
    let sameZone = true;
    for (let at = later.length - zone; at < later.length; at++) {
      if (later.charCodeAt(at) !== earlier.charCodeAt(at)) sameZone = false;
    }
    if (sameZone) return later > earlier;
  }
  return Date.parse(later) > Date.parse(earlier);
};
