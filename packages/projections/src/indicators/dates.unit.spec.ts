import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { createLocalDater } from './dates.js';

/** The local calendar date straight from Intl, for comparison: en-CA writes YYYY-MM-DD. */
const intlDate = (timeZone: string, ms: number): string =>
  new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    new Date(ms),
  );

describe('createLocalDater', () => {
  it('cuts an instant in the programme’s time zone', () => {
    const date = createLocalDater('Asia/Phnom_Penh');
    expect(date('2020-03-31T16:59:59.999Z')).toBe('2020-03-31');
    expect(date('2020-03-31T17:00:00.000Z')).toBe('2020-04-01');
  });

  it('follows the offset across daylight-saving changes, including one at local midnight', () => {
    const newYork = createLocalDater('America/New_York');
    expect(newYork('2021-03-14T04:59:59Z')).toBe('2021-03-13');
    expect(newYork('2021-03-14T05:00:00Z')).toBe('2021-03-14');
    expect(newYork('2021-11-07T03:59:59Z')).toBe('2021-11-06');
    expect(newYork('2021-11-08T04:59:59Z')).toBe('2021-11-07');
    expect(newYork('2021-11-08T05:00:00Z')).toBe('2021-11-08');
    // São Paulo moved its clocks from 00:00 to 01:00 on 4 November 2018.
    const saoPaulo = createLocalDater('America/Sao_Paulo');
    expect(saoPaulo('2018-11-04T02:59:59Z')).toBe('2018-11-03');
    expect(saoPaulo('2018-11-04T03:00:00Z')).toBe('2018-11-04');
  });

  it('keeps a calendar date as it is and reads nothing else as a date', () => {
    const date = createLocalDater('Asia/Phnom_Penh');
    expect(date('2020-02-29')).toBe('2020-02-29');
    expect(date('last Tuesday')).toBeUndefined();
    expect(date(20200229)).toBeUndefined();
    expect(date(undefined)).toBeUndefined();
  });

  it('agrees with Intl for any instant, in zones with and without daylight saving', () => {
    const zones = [
      'Asia/Phnom_Penh',
      'America/New_York',
      'Europe/London',
      'Australia/Lord_Howe',
      'Asia/Kathmandu',
    ];
    const daters = new Map(zones.map((zone) => [zone, createLocalDater(zone)]));
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: Date.UTC(2015, 0, 1), max: Date.UTC(2026, 0, 1) }),
        (zone, ms) => {
          expect(daters.get(zone)?.(new Date(ms).toISOString())).toBe(intlDate(zone, ms));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('asks Intl about a day once for every dater of the zone, and keeps zones apart', () => {
    // A zone no other test here uses, so no earlier dater has asked about these days.
    const zone = 'Pacific/Chatham';
    const instants = ['2023-06-01T10:00:00Z', '2023-06-02T10:00:00Z', '2023-06-02T11:30:00Z'];
    const asked = vi.spyOn(Intl.DateTimeFormat.prototype, 'formatToParts');
    try {
      const first = createLocalDater(zone);
      const firstDates = instants.map((instant) => first(instant));
      const byFirst = asked.mock.calls.length;
      expect(byFirst).toBeGreaterThan(0);
      const rebuilt = createLocalDater(zone);
      expect(instants.map((instant) => rebuilt(instant))).toEqual(firstDates);
      expect(asked.mock.calls.length).toBe(byFirst);
      // Chatham is 12:45 ahead in June: the same instant is the next day there, not in Phnom Penh.
      expect(firstDates[0]).toBe('2023-06-01');
      expect(rebuilt('2023-06-01T11:15:00Z')).toBe('2023-06-02');
      expect(createLocalDater('Asia/Phnom_Penh')('2023-06-01T11:15:00Z')).toBe('2023-06-01');
    } finally {
      asked.mockRestore();
    }
  });

  it('refuses a time zone that is not an IANA name, saying which to give', () => {
    expect(() => createLocalDater('Phnom Penh')).toThrow(/not an IANA time zone.*Asia\/Phnom_Penh/);
  });
});
