import { isDisclosureError } from '@lantern/core';
import { describe, expect, it } from 'vitest';
import {
  areaLevelOf,
  checkPeriodGranularity,
  coarsenArea,
  type DisclosurePolicy,
  defaultDisclosurePolicies,
  resolvePolicy,
} from './index.js';

const messageOf = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    expect(isDisclosureError(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected a DisclosureError');
};

describe('disclosure policies', () => {
  it('defaults: threshold 5 everywhere; communes and days inside, provinces and months for donors, the country and months for the public', () => {
    expect(defaultDisclosurePolicies).toEqual({
      internal: { threshold: 5, areaLevel: 3, finestPeriod: 'day' },
      donor: { threshold: 5, areaLevel: 1, finestPeriod: 'month' },
      public: { threshold: 5, areaLevel: 0, finestPeriod: 'month' },
    });
    expect(resolvePolicy('donor')).toEqual(defaultDisclosurePolicies.donor);
  });

  it('applies overrides on top of the audience defaults', () => {
    expect(resolvePolicy('public', { threshold: 10, areaLevel: 1 })).toEqual({
      threshold: 10,
      areaLevel: 1,
      finestPeriod: 'month',
    });
    expect(resolvePolicy('donor', { finestPeriod: 'quarter' }).finestPeriod).toBe('quarter');
    expect(resolvePolicy('internal', { finestPeriod: 'week' }).finestPeriod).toBe('week');
  });

  it('refuses thresholds that are not whole numbers of at least 3, saying why 2 does not work', () => {
    expect(messageOf(() => resolvePolicy('donor', { threshold: 2 }))).toMatch(
      /at least 3 .*"<2" would itself reveal a count of 1/,
    );
    expect(messageOf(() => resolvePolicy('donor', { threshold: 4.5 }))).toMatch(/must be an integer/);
    expect(messageOf(() => resolvePolicy('internal', { threshold: 0 }))).toMatch(/threshold is 0/);
    // Given as text, it reads as text: "threshold is 5; it must be an integer" would contradict itself.
    expect(messageOf(() => resolvePolicy('donor', { threshold: '5' as never }))).toMatch(
      /threshold is "5"; it must be an integer/,
    );
  });

  it('refuses area levels outside 0..3 and periods finer than a month outside the programme', () => {
    const bad = { areaLevel: 4 } as unknown as Partial<DisclosurePolicy>;
    expect(messageOf(() => resolvePolicy('donor', bad))).toMatch(
      /0 \(country\), 1 \(province\), 2 \(district\) or 3 \(commune\)/,
    );
    expect(messageOf(() => resolvePolicy('public', { finestPeriod: 'day' }))).toMatch(
      /no finer than a month/,
    );
    expect(messageOf(() => resolvePolicy('reporter' as never))).toMatch(
      /Release to "internal", "donor" or "public"/,
    );
  });
});

describe('areas', () => {
  it('knows the level of an area code', () => {
    expect(areaLevelOf('KH')).toBe(0);
    expect(areaLevelOf('KH-12')).toBe(1);
    expect(areaLevelOf('KH-12-06')).toBe(2);
    expect(areaLevelOf('KH-12-06-03')).toBe(3);
    expect(messageOf(() => areaLevelOf('Phnom Penh'))).toMatch(/not an area code/);
  });

  it('truncates a code to a level, and leaves a coarser code alone', () => {
    expect(coarsenArea('KH-12-06-03', 0)).toBe('KH');
    expect(coarsenArea('KH-12-06-03', 1)).toBe('KH-12');
    expect(coarsenArea('KH-12-06-03', 2)).toBe('KH-12-06');
    expect(coarsenArea('KH-12', 3)).toBe('KH-12');
    expect(messageOf(() => coarsenArea('KH-12', 5 as never))).toMatch(/Area level 5 does not exist/);
  });
});

describe('periods', () => {
  it('keeps days and weeks inside the programme: donors and the public get months or coarser', () => {
    const donor = resolvePolicy('donor');
    expect(messageOf(() => checkPeriodGranularity('day', 'donor', donor))).toMatch(
      /may not show periods by day: periods no finer than a month/,
    );
    expect(messageOf(() => checkPeriodGranularity('week', 'public', resolvePolicy('public')))).toMatch(
      /no finer than a month/,
    );
    expect(() => checkPeriodGranularity('month', 'donor', donor)).not.toThrow();
    expect(() => checkPeriodGranularity('year', 'donor', donor)).not.toThrow();
    expect(() => checkPeriodGranularity('day', 'internal', resolvePolicy('internal'))).not.toThrow();
  });

  it('holds donors to a month even under a hand-made policy that says day', () => {
    const handMade: DisclosurePolicy = { threshold: 5, areaLevel: 1, finestPeriod: 'day' };
    expect(messageOf(() => checkPeriodGranularity('day', 'donor', handMade))).toMatch(
      /no finer than a month/,
    );
  });

  it('follows a policy coarser than a month', () => {
    const quarterly = resolvePolicy('public', { finestPeriod: 'quarter' });
    expect(messageOf(() => checkPeriodGranularity('month', 'public', quarterly))).toMatch(
      /no finer than a quarter/,
    );
    expect(() => checkPeriodGranularity('quarter', 'public', quarterly)).not.toThrow();
  });
});
