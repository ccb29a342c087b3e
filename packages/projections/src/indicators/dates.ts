import { isKnownTimeZone } from '@lantern/core';

const dayMs = 86_400_000;
/** Offsets change at most on a quarter hour of UTC time. */
const bucketMs = 900_000;

const isDigit = (code: number): boolean => code >= 48 && code <= 57;
const digitsAt = [0, 1, 2, 3, 5, 6, 8, 9] as const;

/** `YYYY-MM-DD` by its characters: cheaper than a regular expression, and run for most events. */
const isPlainDate = (value: string): boolean => {
  if (value.length !== 10 || value.charCodeAt(4) !== 45 || value.charCodeAt(7) !== 45) return false;
  for (const at of digitsAt) if (!isDigit(value.charCodeAt(at))) return false;
  return true;
};

/** A zone's offset from UTC at any instant, looked up with Intl once per UTC day it is asked about. */
type OffsetOf = (ms: number) => number;

const zoneOffsetFinder = (timeZone: string): OffsetOf => {
  const format = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  });
  /** Local wall time minus UTC at `ms`, in ms (whole minutes). */
  const offsetAt = (ms: number): number => {
    const part: Record<string, number> = {};
    for (const p of format.formatToParts(new Date(ms))) part[p.type] = Number(p.value);
    const wall = Date.UTC(
      part.year ?? 0,
      (part.month ?? 1) - 1,
      part.day ?? 1,
      part.hour ?? 0,
      part.minute ?? 0,
    );
    return wall - Math.floor(ms / 60_000) * 60_000;
  };
  /** Per UTC day: its offset, or undefined when the offset changes during that day. */
  const days = new Map<number, number | undefined>();
  const buckets = new Map<number, number>();
  return (ms) => {
    const day = Math.floor(ms / dayMs);
    if (!days.has(day)) {
      const start = offsetAt(day * dayMs);
      const end = offsetAt((day + 1) * dayMs - 1);
      days.set(day, start === end ? start : undefined);
    }
    const whole = days.get(day);
    if (whole !== undefined) return whole;
    const bucket = Math.floor(ms / bucketMs);
    let offset = buckets.get(bucket);
    if (offset === undefined) {
      offset = offsetAt(bucket * bucketMs);
      buckets.set(bucket, offset);
    }
    return offset;
  };
};

/**
 * Every zone's offsets, shared by all its daters: a projection built again (each rebuild, each
 * test) would otherwise ask Intl about every day of the programme's history again. What it holds
 * grows with the days asked about, a few hundred a year, and the zones in use.
 */
const zoneOffsets = new Map<string, OffsetOf>();

const offsetsOf = (timeZone: string): OffsetOf => {
  let found = zoneOffsets.get(timeZone);
  if (found === undefined) {
    found = zoneOffsetFinder(timeZone);
    zoneOffsets.set(timeZone, found);
  }
  return found;
};

/**
 * Turns what a date field holds into the programme's local calendar date: a `YYYY-MM-DD` stays
 * as it is; an instant is cut in the programme's time zone. The zone's offset is looked up once
 * per UTC day (and per quarter hour only on a day whose offset changes), and kept for every
 * dater of the zone, so a rebuild does not pay for Intl on every event.
 */
export const createLocalDater = (timeZone: string): ((value: unknown) => string | undefined) => {
  if (!isKnownTimeZone(timeZone)) {
    throw new TypeError(
      `"${timeZone}" is not an IANA time zone; give the programme's, e.g. Asia/Phnom_Penh.`,
    );
  }
  const offsetFor = offsetsOf(timeZone);
  // Instants repeat (every element of an unnested list shares its event's date): remember recent ones.
  const recent = new Map<string, string | undefined>();
  return (value) => {
    if (typeof value !== 'string') return undefined;
    if (isPlainDate(value)) return value;
    const seen = recent.get(value);
    if (seen !== undefined || recent.has(value)) return seen;
    const ms = Date.parse(value);
    const date = Number.isNaN(ms) ? undefined : new Date(ms + offsetFor(ms)).toISOString().slice(0, 10);
    if (recent.size >= 4096) recent.clear();
    recent.set(value, date);
    return date;
  };
};
