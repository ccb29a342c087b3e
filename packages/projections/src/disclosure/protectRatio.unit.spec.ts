import { isDisclosureError } from '@lantern/core';
import { describe, expect, it } from 'vitest';
import {
  describeSuppression,
  protectMedian,
  protectRatio,
  protectRatioTable,
  resolvePolicy,
} from './index.js';

const donor = resolvePolicy('donor');
const internal = resolvePolicy('internal');

describe('protectRatio', () => {
  it('releases a percentage when numerator, denominator and complement are each 0 or at least the threshold', () => {
    expect(protectRatio({ numerator: 12, denominator: 40 }, 'donor', donor)).toEqual({ value: 30 });
    expect(protectRatio({ numerator: 0, denominator: 40 }, 'donor', donor)).toEqual({ value: 0 });
    expect(protectRatio({ numerator: 40, denominator: 40 }, 'donor', donor)).toEqual({ value: 100 });
  });

  it('withholds it, with the reason, when one of them is small', () => {
    expect(protectRatio({ numerator: 3, denominator: 40 }, 'donor', donor)).toEqual({
      value: null,
      suppressed: 'primary',
      reason: 'smallNumerator',
    });
    // "12 of 14 were placed with family" says that 2 were not.
    expect(protectRatio({ numerator: 12, denominator: 14 }, 'public', resolvePolicy('public'))).toEqual({
      value: null,
      suppressed: 'primary',
      reason: 'smallComplement',
    });
    expect(protectRatio({ numerator: 2, denominator: 4 }, 'donor', donor)).toEqual({
      value: null,
      suppressed: 'primary',
      reason: 'smallDenominator',
    });
    expect(protectRatio({ numerator: 0, denominator: 0 }, 'donor', donor)).toEqual({
      value: null,
      reason: 'noObservations',
    });
  });

  it('shows internal staff every percentage', () => {
    expect(protectRatio({ numerator: 1, denominator: 4 }, 'internal', internal)).toEqual({ value: 25 });
  });

  it('follows the threshold', () => {
    const strict = resolvePolicy('donor', { threshold: 10 });
    expect(protectRatio({ numerator: 8, denominator: 40 }, 'donor', strict)).toMatchObject({
      reason: 'smallNumerator',
    });
  });

  it('refuses a numerator larger than its denominator, or counts that are not counts', () => {
    for (const counts of [
      { numerator: 5, denominator: 4 },
      { numerator: -1, denominator: 4 },
      { numerator: 1.5, denominator: 4 },
    ]) {
      try {
        protectRatio(counts, 'donor', donor);
        expect.unreachable();
      } catch (error) {
        expect(isDisclosureError(error)).toBe(true);
      }
    }
  });
});

describe('protectRatioTable', () => {
  it('applies the rule to every cell and to the pooled margins', () => {
    const released = protectRatioTable(
      {
        dimensions: ['area'],
        cells: [
          { key: { area: 'KH-12-06' }, numerator: 12, denominator: 40 },
          { key: { area: 'KH-12-09' }, numerator: 3, denominator: 30 },
          { key: { area: 'KH-12-11' }, numerator: 10, denominator: 12 },
        ],
      },
      'donor',
      resolvePolicy('donor', { areaLevel: 2 }),
    );
    expect(released.cells).toEqual([
      { key: { area: 'KH-12-06' }, value: 30 },
      { key: { area: 'KH-12-09' }, value: null, suppressed: 'primary', reason: 'smallNumerator' },
      { key: { area: 'KH-12-11' }, value: null, suppressed: 'primary', reason: 'smallComplement' },
    ]);
    expect(released.margins).toEqual([{ key: {}, value: (100 * 25) / 82 }]);
    expect(describeSuppression(released)).toMatchObject({
      cells: { total: 3, primary: 2, secondary: 0 },
      footnote: '2 percentages are withheld because a count behind them is from 1 to 4.',
    });
  });

  it('treats an absent combination as 0 of 0, and checks declared areas and periods', () => {
    const released = protectRatioTable(
      {
        dimensions: ['month', 'sex'],
        cells: [{ key: { month: '2020-05', sex: 'F' }, numerator: 5, denominator: 10 }],
        categories: { month: ['2020-05'], sex: ['F', 'M'] },
        period: { dimension: 'month', granularity: 'month' },
      },
      'donor',
      donor,
    );
    expect(released.cells[1]).toEqual({
      key: { month: '2020-05', sex: 'M' },
      value: null,
      reason: 'noObservations',
    });
    expect(() =>
      protectRatioTable(
        {
          dimensions: ['day'],
          cells: [],
          categories: { day: ['2020-05-31'] },
          period: { dimension: 'day', granularity: 'day' },
        },
        'donor',
        donor,
      ),
    ).toThrow(/no finer than a month/);
  });
});

describe('protectMedian', () => {
  it('releases a median only when at least threshold observations stand behind it', () => {
    expect(protectMedian({ median: 21, count: 9 }, 'donor', donor)).toEqual({ value: 21 });
    expect(protectMedian({ median: 21, count: 5 }, 'donor', donor)).toEqual({ value: 21 });
    expect(protectMedian({ median: 21, count: 4 }, 'donor', donor)).toEqual({
      value: null,
      suppressed: 'primary',
      reason: 'fewObservations',
    });
    expect(protectMedian({ median: 0, count: 0 }, 'donor', donor)).toEqual({
      value: null,
      reason: 'noObservations',
    });
    expect(protectMedian({ median: 21, count: 2 }, 'internal', internal)).toEqual({ value: 21 });
  });
});
