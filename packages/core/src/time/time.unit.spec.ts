import { describe, expect, it } from 'vitest';
import { addDays, addYears, daysBetween, isKnownTimeZone, localDateOf, localTimeOf } from './time.js';

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
