import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addDays,
  addYears,
  daysBetween,
  instantIsAfter,
  isKnownTimeZone,
  localDateOf,
  localTimeOf,
} from './time.js';

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/** Instants written every way the catalog accepts, and near misses: bad days, hours, zones, fractions. */
const instantLike = fc.oneof(
  fc
    .record({
      year: fc.integer({ min: 0, max: 9999 }),
      month: fc.integer({ min: 0, max: 13 }),
      day: fc.integer({ min: 0, max: 32 }),
      hour: fc.integer({ min: 20, max: 25 }),
      minute: fc.constantFrom(0, 30, 59, 60),
      second: fc.constantFrom(0, 59, 60),
      fraction: fc.constantFrom('', '.5', '.50', '.123', '.1234', '.', '.x'),
      zone: fc.constantFrom(
        'Z',
        '+07:00',
        '-07:00',
        '+00:00',
        '-00:00',
        '+23:59',
        '+24:00',
        '+07:60',
        'z',
        '+0700',
        '',
      ),
    })
    .map(
      (t) =>
        `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)}T${pad(t.hour)}:${pad(t.minute)}:${pad(t.second)}${t.fraction}${t.zone}`,
    ),
  fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
  fc.string(),
);

/** Two instants: unrelated, the same, or one digit or character apart (so often written alike). */
const pairs = fc.oneof(
  fc.tuple(instantLike, instantLike),
  instantLike.map((text) => [text, text] as const),
  fc.tuple(instantLike, fc.nat(), fc.constantFrom(...'0123456789.:+-TZ')).map(([text, at, character]) => {
    const where = text.length === 0 ? 0 : at % text.length;
    return [text, `${text.slice(0, where)}${character}${text.slice(where + 1)}`] as const;
  }),
);

describe('ordering instants', () => {
  it('orders any two strings exactly as Date.parse does', () => {
    fc.assert(
      fc.property(pairs, ([later, earlier]) => {
        expect(instantIsAfter(later, earlier)).toBe(Date.parse(later) > Date.parse(earlier));
      }),
      { numRuns: 20_000 },
    );
  });

  it('orders close instants written alike, and the same moment in two zones', () => {
    const cases: [string, string, boolean][] = [
      ['2020-05-31T23:30:00+07:00', '2020-05-31T19:00:00+07:00', true],
      ['2020-05-28T23:30:00+07:00', '2020-05-28T19:00:00+07:00', true],
      ['2020-05-28T19:00:00+07:00', '2020-05-28T23:30:00+07:00', false],
      ['2020-05-28T19:00:00+07:00', '2020-05-28T19:00:00+07:00', false],
      ['2020-05-31T19:00:00+07:00', '2020-05-31T19:00:00+07:00', false],
      ['2020-05-31T19:00:00.001Z', '2020-05-31T19:00:00.000Z', true],
      ['2020-05-31T12:00:00Z', '2020-05-31T19:00:00+07:00', false],
      ['2020-05-31T12:00:01Z', '2020-05-31T19:00:00+07:00', true],
      ['2020-05-31T23:30:00-01:00', '2020-06-01T00:00:00+00:00', true],
      ['2020-02-29T00:00:00Z', '2020-02-28T23:59:59Z', true],
    ];
    for (const [later, earlier, after] of cases)
      expect(instantIsAfter(later, earlier), `${later} > ${earlier}`).toBe(after);
  });

  it('parses pairs whose text order is not their time order: days past the 28th, fractions finer than a millisecond', () => {
    const tricky = [
      // The runtime reads 31 February as 3 March.
      ['2021-02-31T00:00:00Z', '2021-03-01T00:00:00Z'],
      ['2021-04-31T00:00:00+07:00', '2021-05-01T00:00:00+07:00'],
      // Digits past the millisecond are not read.
      ['2020-01-01T00:00:00.1239Z', '2020-01-01T00:00:00.1234Z'],
      ['2020-01-01T00:00:00.12399+07:00', '2020-01-01T00:00:00.12300+07:00'],
    ];
    for (const [later, earlier] of tricky as [string, string][]) {
      expect(instantIsAfter(later, earlier), `${later} > ${earlier}`).toBe(
        Date.parse(later) > Date.parse(earlier),
      );
    }
  });
});

describe('programme time', () => {
  it('places a night shift at 23:30 on 31 May in May, in Phnom Penh', () => {
    expect(localDateOf('2020-05-31T23:30:00+07:00', 'Asia/Phnom_Penh')).toBe('2020-05-31');
    // The same instant written in UTC is still 31 May in Phnom Penh.
    expect(localDateOf('2020-05-31T16:30:00Z', 'Asia/Phnom_Penh')).toBe('2020-05-31');
    // …and an instant just after midnight in Phnom Penh is already June there.
    expect(localDateOf('2020-05-31T17:30:00Z', 'Asia/Phnom_Penh')).toBe('2020-06-01');
  });

  it('reads the local time of day', () => {
    expect(localTimeOf('2020-05-31T16:30:00Z', 'Asia/Phnom_Penh')).toEqual({ hour: 23, text: '23:30' });
    expect(localTimeOf('2020-05-31T17:05:00Z', 'Asia/Phnom_Penh')).toEqual({ hour: 0, text: '00:05' });
  });

  it('counts and adds calendar days and years', () => {
    expect(daysBetween('2020-01-31', '2020-03-01')).toBe(30);
    expect(addDays('2020-02-28', 1)).toBe('2020-02-29');
    expect(addYears('2018-12-01', 1)).toBe('2019-12-01');
    expect(addYears('2020-02-29', 1)).toBe('2021-03-01');
  });

  it('knows IANA time zones and refuses made-up ones', () => {
    expect(isKnownTimeZone('Asia/Phnom_Penh')).toBe(true);
    expect(isKnownTimeZone('Mars/Olympus_Mons')).toBe(false);
  });
});
