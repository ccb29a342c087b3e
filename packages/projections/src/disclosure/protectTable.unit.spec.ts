import { isDisclosureError } from '@lantern/core';
import { describe, expect, it } from 'vitest';
import {
  type CountTable,
  coarsenAreas,
  describeSuppression,
  findReleased,
  protectCount,
  protectTable,
  type ReleasedTable,
  resolvePolicy,
} from './index.js';

const donor = resolvePolicy('donor');

const messageOf = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    expect(isDisclosureError(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected a DisclosureError');
};

/** A two-way table from rows of counts: `rows[r][c]` is the count for (row r, column c). */
const twoWay = (rowNames: string[], columnNames: string[], rows: number[][]): CountTable => ({
  dimensions: ['area', 'sex'],
  cells: rowNames.flatMap((area, r) =>
    columnNames.map((sex, c) => ({ key: { area, sex }, value: rows[r]?.[c] as number })),
  ),
});

const valueAt = (released: ReleasedTable, key: Record<string, string>) => {
  const entry = findReleased(released, key);
  if (entry === undefined) throw new Error(`no entry ${JSON.stringify(key)}`);
  const { key: _key, ...rest } = entry;
  return rest;
};

describe('protectTable for a donor', () => {
  it('hides the other three cells of a 2×2 table with one "<5" cell, and keeps every total', () => {
    const released = protectTable(
      twoWay(
        ['a', 'b'],
        ['F', 'M'],
        [
          [2, 10],
          [10, 20],
        ],
      ),
      'donor',
      donor,
    );
    expect(released.cells.map(({ key, ...rest }) => rest)).toEqual([
      { value: '<5', suppressed: 'primary' },
      { value: null, suppressed: 'secondary' },
      { value: null, suppressed: 'secondary' },
      { value: null, suppressed: 'secondary' },
    ]);
    expect(released.margins).toEqual([
      { key: { area: 'a' }, value: 12 },
      { key: { area: 'b' }, value: 30 },
      { key: { sex: 'F' }, value: 12 },
      { key: { sex: 'M' }, value: 30 },
      { key: {}, value: 42 },
    ]);
    expect(describeSuppression(released).footnote).toBe(
      '1 count from 1 to 4 is shown as "<5"; 3 further figures are hidden so that it cannot be worked out from the totals.',
    );
  });

  it('hides a row total of 3 as a small count, and the cheapest pair that shields it (a cell and a row total)', () => {
    // Area a has 3 girls and no boys: its total is 3 too. Hiding area c's girls and c's total lets
    // a's 3 move against c's 7 (column F = 18 and row c = c·F + 6 still hold), and costs 7 + 13,
    // less than area b's 8 + 17; the grand total stays released.
    const released = protectTable(
      twoWay(
        ['a', 'b', 'c'],
        ['F', 'M'],
        [
          [3, 0],
          [8, 9],
          [7, 6],
        ],
      ),
      'donor',
      donor,
    );
    expect(valueAt(released, { area: 'a', sex: 'F' })).toEqual({ value: '<5', suppressed: 'primary' });
    expect(valueAt(released, { area: 'a' })).toEqual({ value: '<5', suppressed: 'primary' });
    expect(valueAt(released, { area: 'a', sex: 'M' })).toEqual({ value: 0 });
    expect(valueAt(released, { area: 'c', sex: 'F' })).toEqual({ value: null, suppressed: 'secondary' });
    expect(valueAt(released, { area: 'c' })).toEqual({ value: null, suppressed: 'secondary' });
    for (const key of [
      { area: 'b', sex: 'F' },
      { area: 'b', sex: 'M' },
      { area: 'c', sex: 'M' },
      { area: 'b' },
      { sex: 'F' },
      { sex: 'M' },
      {},
    ]) {
      expect(valueAt(released, key)).not.toHaveProperty('suppressed');
    }
    expect(describeSuppression(released)).toMatchObject({
      cells: { total: 6, primary: 1, secondary: 1 },
      margins: { total: 6, primary: 1, secondary: 1 },
    });
  });

  it('shows zeros, counts absent combinations and listed categories without cells as 0', () => {
    const released = protectTable(
      {
        dimensions: ['club'],
        cells: [
          { key: { club: 'riverfront' }, value: 7 },
          { key: { club: 'stung-mean-chey' }, value: 0 },
        ],
        categories: { club: ['riverfront', 'stung-mean-chey', 'toul-kork'] },
      },
      'donor',
      donor,
    );
    expect(released.cells).toEqual([
      { key: { club: 'riverfront' }, value: 7 },
      { key: { club: 'stung-mean-chey' }, value: 0 },
      { key: { club: 'toul-kork' }, value: 0 },
    ]);
    expect(released.margins).toEqual([{ key: {}, value: 7 }]);
    expect(describeSuppression(released).footnote).toBe('No count is from 1 to 4: nothing is hidden.');

    const absent = protectTable(
      {
        dimensions: ['area', 'sex'],
        cells: [
          { key: { area: 'a', sex: 'F' }, value: 6 },
          { key: { area: 'b', sex: 'M' }, value: 9 },
        ],
      },
      'donor',
      donor,
    );
    expect(valueAt(absent, { area: 'a', sex: 'M' })).toEqual({ value: 0 });
    expect(valueAt(absent, { area: 'b', sex: 'F' })).toEqual({ value: 0 });
    expect(valueAt(absent, {})).toEqual({ value: 15 });
  });

  it('stops a hidden month being worked out from the year total and the other months', () => {
    const released = protectTable(
      {
        dimensions: ['month'],
        cells: [
          { key: { month: '2020-01' }, value: 12 },
          { key: { month: '2020-02' }, value: 3 },
          { key: { month: '2020-03' }, value: 15 },
          { key: { month: '2020-04' }, value: 20 },
        ],
        period: { dimension: 'month', granularity: 'month' },
      },
      'public',
      resolvePolicy('public'),
    );
    // The smallest other month goes with February; the total stays.
    expect(released.cells.map(({ value }) => value)).toEqual([null, '<5', 15, 20]);
    expect(valueAt(released, {})).toEqual({ value: 50 });
  });

  it('does not pair a small count with a value that cannot move: hiding 5 beside a 1 would give the 1 away', () => {
    // A hidden value that is not small is known to be 0 or ≥ 5. Were the 5 hidden (and the 20 shown),
    // a + b = 6 with b ≥ 5 leaves a = 1 only. The 20 can give way to the 1, so the 20 is hidden.
    const released = protectTable(
      {
        dimensions: ['club'],
        cells: [
          { key: { club: 'a' }, value: 1 },
          { key: { club: 'b' }, value: 5 },
          { key: { club: 'c' }, value: 20 },
        ],
      },
      'donor',
      donor,
    );
    expect(released.cells.map(({ value }) => value)).toEqual(['<5', 5, null]);
    expect(valueAt(released, {})).toEqual({ value: 26 });
  });

  it('hides the whole 2×2×2 box around a small cell of a three-way table, and no total', () => {
    const values = [2, 6, 7, 8, 9, 10, 11, 12];
    const cells = ['x', 'y'].flatMap((a) =>
      ['p', 'q'].flatMap((b) => ['m', 'n'].map((c) => ({ key: { a, b, c }, value: 0 }))),
    );
    const released = protectTable(
      {
        dimensions: ['a', 'b', 'c'],
        cells: cells.map((cell, i) => ({ ...cell, value: values[i] as number })),
      },
      'donor',
      donor,
    );
    expect(released.cells.map(({ value }) => value)).toEqual([
      '<5',
      null,
      null,
      null,
      null,
      null,
      null,
      null,
    ]);
    expect(released.margins.every((entry) => !('suppressed' in entry))).toBe(true);
  });

  it('uses the configured threshold for what is small and how it is shown', () => {
    const released = protectTable(
      twoWay(
        ['a', 'b'],
        ['F', 'M'],
        [
          [7, 30],
          [25, 40],
        ],
      ),
      'donor',
      resolvePolicy('donor', { threshold: 10 }),
    );
    expect(valueAt(released, { area: 'a', sex: 'F' })).toEqual({ value: '<10', suppressed: 'primary' });
    expect(describeSuppression(released).footnote).toMatch(/^1 count from 1 to 9 is shown as "<10"/);
  });

  it('refuses a table whose "<5" labels alone give the counts away', () => {
    // Four clubs of "<5" under a total of "<5": each club must hold exactly 1 child.
    const ones: CountTable = {
      dimensions: ['club'],
      cells: ['a', 'b', 'c', 'd'].map((club) => ({ key: { club }, value: 1 })),
    };
    expect(messageOf(() => protectTable(ones, 'donor', donor))).toMatch(
      /cannot be protected: even with every other figure hidden, .*"<5" labels.*Merge small categories/,
    );
    expect(protectTable(ones, 'internal', resolvePolicy('internal')).margins).toEqual([
      { key: {}, value: 4 },
    ]);
  });
});

describe('protectTable for internal staff', () => {
  it('releases every cell and margin exactly', () => {
    const released = protectTable(
      twoWay(
        ['a', 'b'],
        ['F', 'M'],
        [
          [2, 0],
          [1, 20],
        ],
      ),
      'internal',
      resolvePolicy('internal'),
    );
    expect([...released.cells, ...released.margins]).toEqual([
      { key: { area: 'a', sex: 'F' }, value: 2 },
      { key: { area: 'a', sex: 'M' }, value: 0 },
      { key: { area: 'b', sex: 'F' }, value: 1 },
      { key: { area: 'b', sex: 'M' }, value: 20 },
      { key: { area: 'a' }, value: 2 },
      { key: { area: 'b' }, value: 21 },
      { key: { sex: 'F' }, value: 3 },
      { key: { sex: 'M' }, value: 20 },
      { key: {}, value: 23 },
    ]);
    expect(describeSuppression(released).footnote).toBe('Internal release: no figure is hidden.');
  });
});

describe('areas and periods in a table', () => {
  const byCommune: CountTable = {
    dimensions: ['area'],
    cells: [
      { key: { area: 'KH-12-06-03' }, value: 9 },
      { key: { area: 'KH-12-06-04' }, value: 3 },
      { key: { area: 'KH-12-09-01' }, value: 8 },
    ],
    areaDimension: 'area',
  };

  it('refuses areas finer than the audience may see, and says how to coarsen them', () => {
    expect(messageOf(() => protectTable(byCommune, 'donor', donor))).toMatch(
      /"KH-12-06-03" \(level 3\) is finer than the donor policy allows \(level 1\).*coarsenAreas\(table, dimension, 1\)/,
    );
  });

  it('coarsens areas, adding up the cells that merge', () => {
    const byDistrict = coarsenAreas(byCommune, 'area', 2);
    expect(byDistrict.cells).toEqual([
      { key: { area: 'KH-12-06' }, value: 12 },
      { key: { area: 'KH-12-09' }, value: 8 },
    ]);
    const released = protectTable(coarsenAreas(byCommune, 'area', 1), 'donor', donor);
    expect(released.cells).toEqual([{ key: { area: 'KH-12' }, value: 20 }]);
  });

  it('refuses days for a donor', () => {
    const daily: CountTable = {
      dimensions: ['day'],
      cells: [{ key: { day: '2020-05-31' }, value: 14 }],
      period: { dimension: 'day', granularity: 'day' },
    };
    expect(messageOf(() => protectTable(daily, 'donor', donor))).toMatch(/periods no finer than a month/);
    expect(protectTable(daily, 'internal', resolvePolicy('internal')).cells).toEqual([
      { key: { day: '2020-05-31' }, value: 14 },
    ]);
  });
});

describe('malformed tables', () => {
  it('says what is wrong and what to do', () => {
    expect(messageOf(() => protectTable({ dimensions: [], cells: [] }, 'donor', donor))).toMatch(
      /at least one dimension/,
    );
    expect(
      messageOf(() =>
        protectTable(
          {
            dimensions: ['area'],
            cells: [
              { key: { area: 'a' }, value: 2 },
              { key: { area: 'a' }, value: 3 },
            ],
          },
          'donor',
          donor,
        ),
      ),
    ).toMatch(/appears twice: add its counts together/);
    expect(
      messageOf(() =>
        protectTable({ dimensions: ['area'], cells: [{ key: { area: 'a' }, value: -1 }] }, 'donor', donor),
      ),
    ).toMatch(/not a count/);
    expect(
      messageOf(() =>
        protectTable({ dimensions: ['area'], cells: [{ key: { area: 'a' }, value: 2.5 }] }, 'donor', donor),
      ),
    ).toMatch(/not a count/);
    expect(
      messageOf(() =>
        protectTable(
          { dimensions: ['area', 'sex'], cells: [{ key: { area: 'a' }, value: 2 }] },
          'donor',
          donor,
        ),
      ),
    ).toMatch(/does not match the table's dimensions/);
    expect(
      messageOf(() =>
        protectTable(
          { dimensions: ['area'], cells: [{ key: { area: 'z' }, value: 2 }], categories: { area: ['a'] } },
          'donor',
          donor,
        ),
      ),
    ).toMatch(/which its categories do not list/);
    expect(
      messageOf(() =>
        protectTable({ dimensions: ['area'], cells: [] }, 'donor', {
          threshold: 2,
          areaLevel: 1,
          finestPeriod: 'month',
        }),
      ),
    ).toMatch(/at least 3/);
  });
});

describe('protectCount', () => {
  it('shows a lone small count as "<5" outside the programme, and any count inside', () => {
    expect(protectCount(3, 'public', resolvePolicy('public'))).toEqual({
      value: '<5',
      suppressed: 'primary',
    });
    expect(protectCount(0, 'public', resolvePolicy('public'))).toEqual({ value: 0 });
    expect(protectCount(14, 'donor', donor)).toEqual({ value: 14 });
    expect(protectCount(3, 'internal', resolvePolicy('internal'))).toEqual({ value: 3 });
  });
});
