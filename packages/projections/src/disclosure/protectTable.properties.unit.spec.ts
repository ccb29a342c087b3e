import { isDisclosureError } from '@lantern/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CountTable,
  protectTable,
  type ReleasedEntry,
  type ReleasedTable,
  resolvePolicy,
} from './index.js';

// ---------------------------------------------------------------------------------------------
// An attacker written from the release alone (it shares no code with the suppression): it knows
// every released value, that each margin is the sum of the cells it covers, that "<t" is 1..t−1,
// that a secondary-hidden value is 0 or ≥ t, and that all are whole numbers ≥ 0. It searches
// whole-number tables that fit all of that, with one small value forced away from its true value.
// ---------------------------------------------------------------------------------------------

type Verdict = 'protected' | 'disclosed' | 'unknown';
type Key = Readonly<Record<string, string>>;
interface Seen {
  readonly key: Key;
  readonly value: number | string | null;
  readonly suppressed?: 'primary' | 'secondary';
}

const covers = (cell: Key, key: Key): boolean => Object.entries(key).every(([d, v]) => cell[d] === v);

/**
 * For each primary-hidden entry (by position in cells ++ margins): does some other whole-number table
 * fit everything released and give it another value? Depth first with bounds propagated through the
 * totals. The true table is used only to order the search (nearest first) and to cap a hidden cell no
 * released total bounds at its true value + 2t: a smaller search finds fewer tables, never more, so
 * a "protected" verdict is always backed by a table the attacker cannot rule out.
 */
const attack = (
  cells: readonly Seen[],
  margins: readonly Seen[],
  t: number,
  truthOf: (key: Key) => number,
  budget: number,
): Map<number, Verdict> => {
  const entries = [...cells, ...margins];
  const isHidden = (c: number): boolean => cells[c]?.suppressed !== undefined;
  const covered = entries.map((entry) =>
    cells.flatMap((cell, c) => (covers(cell.key, entry.key) ? [c] : [])),
  );
  const coveredBy = cells.map((_, c) => entries.flatMap((_, e) => (covered[e]?.includes(c) ? [e] : [])));
  const constant = covered.map((list) =>
    list.reduce((sum, c) => sum + (isHidden(c) ? 0 : (cells[c]?.value as number)), 0),
  );
  const unknowns = covered.map((list) => list.filter(isHidden));
  const hidden = cells.flatMap((_, c) => (isHidden(c) ? [c] : []));
  const truthCell = cells.map((cell) => truthOf(cell.key));
  const truth = covered.map((list) => list.reduce((sum, c) => sum + (truthCell[c] as number), 0));
  const startLow = cells.map((cell) => (cell.suppressed === 'primary' ? 1 : 0));
  const startHigh = cells.map((cell, c) => {
    if (cell.suppressed === 'primary') return t - 1;
    let cap = (truthCell[c] as number) + 2 * t;
    for (const e of coveredBy[c] ?? []) {
      const value = entries[e]?.value;
      if (typeof value === 'number') cap = Math.min(cap, value);
    }
    return cap;
  });

  type Bounds = { low: number[]; high: number[] };
  const propagate = (
    d: Bounds,
    target: number,
    range: readonly [number, number],
    start: readonly number[],
  ) => {
    const queue = [...start];
    const queued = new Set(queue);
    while (queue.length > 0) {
      const e = queue.pop() as number;
      queued.delete(e);
      const known = entries[e] as Seen;
      let lo = constant[e] as number;
      let hi = lo;
      for (const c of unknowns[e] ?? []) {
        lo += d.low[c] as number;
        hi += d.high[c] as number;
      }
      let [min, max] =
        e === target
          ? range
          : typeof known.value === 'number'
            ? [known.value, known.value]
            : known.suppressed === 'primary'
              ? [1, t - 1]
              : [0, Number.POSITIVE_INFINITY];
      if (known.suppressed === 'secondary' && e !== target) {
        if (lo > 0) min = t;
        else if (hi < t) max = 0;
      }
      if (lo > max || hi < min) return false;
      for (const c of unknowns[e] ?? []) {
        const cl = d.low[c] as number;
        const ch = d.high[c] as number;
        let nl = Math.max(cl, min - (hi - ch));
        let nh = Math.min(ch, max - (lo - cl));
        if (cells[c]?.suppressed === 'secondary') {
          if (nl >= 1 && nl < t) nl = t;
          if (nh >= 1 && nh < t) nh = 0;
        }
        if (nl > nh) return false;
        if (nl === cl && nh === ch) continue;
        d.low[c] = nl;
        d.high[c] = nh;
        lo += nl - cl;
        hi += nh - ch;
        for (const other of coveredBy[c] ?? []) {
          if (!queued.has(other)) {
            queued.add(other);
            queue.push(other);
          }
        }
      }
    }
    return true;
  };

  const verdicts = new Map<number, Verdict>();
  entries.forEach((entry, p) => {
    if (entry.suppressed !== 'primary' || verdicts.get(p) === 'protected') return;
    const distance = (c: number): number =>
      Object.entries(cells[c]?.key ?? {}).filter(([d, v]) => entry.key[d] !== undefined && entry.key[d] !== v)
        .length;
    let nodes = 0;
    const search = (
      d: Bounds,
      range: readonly [number, number],
      touched: readonly number[],
    ): Bounds | false | undefined => {
      nodes += 1;
      if (nodes > budget) return undefined;
      if (!propagate(d, p, range, touched)) return false;
      let pick = -1;
      for (const c of hidden) {
        const size = (d.high[c] as number) - (d.low[c] as number);
        if (size === 0) continue;
        const pickSize = pick === -1 ? 0 : (d.high[pick] as number) - (d.low[pick] as number);
        if (
          pick === -1 ||
          distance(c) < distance(pick) ||
          (distance(c) === distance(pick) && size < pickSize)
        ) {
          pick = c;
        }
      }
      if (pick === -1) return d;
      const lo = d.low[pick] as number;
      const hi = d.high[pick] as number;
      const near = Math.min(Math.max(truthCell[pick] as number, lo), hi);
      for (let step = 0; near - step >= lo || near + step <= hi; step += 1) {
        for (const v of step === 0 ? [near] : [near + step, near - step]) {
          if (v < lo || v > hi || (cells[pick]?.suppressed === 'secondary' && v >= 1 && v < t)) continue;
          const next = { low: [...d.low], high: [...d.high] };
          next.low[pick] = v;
          next.high[pick] = v;
          const found = search(next, range, coveredBy[pick] ?? []);
          if (found !== false) return found;
        }
      }
      return false;
    };
    const v = truth[p] as number;
    let verdict: Verdict = 'disclosed';
    for (const range of [
      [v + 1, t - 1],
      [1, v - 1],
    ] as const) {
      if (verdict === 'protected' || range[0] > range[1]) continue;
      nodes = 0;
      const found = search(
        { low: [...startLow], high: [...startHigh] },
        range,
        entries.map((_, e) => e),
      );
      if (found === undefined) verdict = 'unknown';
      else if (found !== false) {
        verdict = 'protected';
        // The same second table protects every other small value it changes.
        entries.forEach((other, q) => {
          if (other.suppressed !== 'primary') return;
          const sum = (covered[q] ?? []).reduce(
            (total, c) => total + (isHidden(c) ? (found.low[c] as number) : (cells[c]?.value as number)),
            0,
          );
          if (sum !== truth[q]) verdicts.set(q, 'protected');
        });
      }
    }
    verdicts.set(p, verdict);
  });
  return verdicts;
};

/** Verdicts with a quick search, then a deeper one for whatever the quick one could not settle. */
const verdictsOn = (
  cells: readonly Seen[],
  margins: readonly Seen[],
  t: number,
  truthOf: (key: Key) => number,
) => {
  const quick = attack(cells, margins, t, truthOf, 20_000);
  if (![...quick.values()].includes('unknown')) return [...quick.values()];
  return [...attack(cells, margins, t, truthOf, 400_000).values()];
};

// ---------------------------------------------------------------------------------------------
// Random tables: 1–3 dimensions of 2–4 categories, counts skewed small, zero cells sometimes absent.
// ---------------------------------------------------------------------------------------------

interface Generated {
  readonly table: CountTable;
  readonly truthOf: (key: Key) => number;
  readonly size: number;
}

/** The table with `counts` in row-major order over `sizes` categories (d0 = c0…, d1 = c0…). */
const tableOf = (sizes: readonly number[], counts: readonly number[], leaveOutZeros = false): Generated => {
  const dimensions = sizes.map((_, i) => `d${i}`);
  let keys: Record<string, string>[] = [{}];
  sizes.forEach((n, i) => {
    keys = keys.flatMap((key) => Array.from({ length: n }, (_, v) => ({ ...key, [`d${i}`]: `c${v}` })));
  });
  const cells = keys.map((key, i) => ({ key, value: counts[i] as number }));
  const categories = Object.fromEntries(
    sizes.map((n, i) => [`d${i}`, Array.from({ length: n }, (_, v) => `c${v}`)]),
  );
  const truthOf = (key: Key): number =>
    cells.filter((cell) => covers(cell.key, key)).reduce((sum, cell) => sum + cell.value, 0);
  // An absent combination counts 0; listing the categories keeps a line that is all zeros.
  const table: CountTable = leaveOutZeros
    ? { dimensions, cells: cells.filter((cell) => cell.value > 0), categories }
    : { dimensions, cells };
  return { table, truthOf, size: cells.length };
};

const count = fc.oneof(
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 4 }) },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 12 }) },
);

const tables = (options: { largestThreeWay: number }): fc.Arbitrary<Generated> =>
  fc
    .integer({ min: 1, max: 3 })
    .chain((k) =>
      fc.array(fc.integer({ min: 2, max: k === 3 ? options.largestThreeWay : 4 }), {
        minLength: k,
        maxLength: k,
      }),
    )
    .chain((sizes) => {
      const size = sizes.reduce((a, b) => a * b, 1);
      return fc.record({
        sizes: fc.constant(sizes),
        counts: fc.array(count, { minLength: size, maxLength: size }),
        leaveOutZeros: fc.boolean(),
      });
    })
    .map(({ sizes, counts, leaveOutZeros }) => tableOf(sizes, counts, leaveOutZeros));

const entriesOf = (released: ReleasedTable): readonly ReleasedEntry[] => [
  ...released.cells,
  ...released.margins,
];

/** Everything a release must satisfy whatever the attacker does. */
const expectFaithful = (released: ReleasedTable, generated: Generated, t: number): void => {
  const sizes = Object.values(released.categories).map((list) => list.length);
  expect(released.cells).toHaveLength(generated.size);
  expect(released.margins).toHaveLength(sizes.reduce((a, n) => a * (n + 1), 1) - generated.size);
  for (const entry of entriesOf(released)) {
    const truth = generated.truthOf(entry.key);
    if ('suppressed' in entry && entry.suppressed === 'primary') {
      expect(entry.value).toBe(`<${t}`);
      expect(truth).toBeGreaterThanOrEqual(1);
      expect(truth).toBeLessThan(t);
    } else if ('suppressed' in entry) {
      expect(entry.value).toBeNull();
      expect(truth).toBeGreaterThanOrEqual(t);
    } else {
      // Released values are the true values, and never small.
      expect(entry.value).toBe(truth);
      expect(truth === 0 || truth >= t).toBe(true);
    }
  }
};

/** The release an attacker would see if every non-zero value were hidden: the most any suppression can do. */
const hideEverything = (generated: Generated, t: number) => {
  const everything = protectTable(generated.table, 'internal', resolvePolicy('internal'));
  const hide = (entry: ReleasedEntry): Seen => {
    const truth = generated.truthOf(entry.key);
    if (truth === 0) return { key: entry.key, value: 0 };
    return truth < t
      ? { key: entry.key, value: `<${t}`, suppressed: 'primary' }
      : { key: entry.key, value: null, suppressed: 'secondary' };
  };
  return { cells: everything.cells.map(hide), margins: everything.margins.map(hide) };
};

/** Releases for a donor; a refusal must be a table that even hiding everything cannot protect. */
const checkDonorRelease = (generated: Generated, t: number): void => {
  let released: ReleasedTable;
  try {
    released = protectTable(generated.table, 'donor', resolvePolicy('donor', { threshold: t }));
  } catch (error) {
    expect(isDisclosureError(error)).toBe(true);
    const bare = hideEverything(generated, t);
    expect(verdictsOn(bare.cells, bare.margins, t, generated.truthOf)).toContain('disclosed');
    return;
  }
  expectFaithful(released, generated, t);
  const verdicts = verdictsOn(released.cells, released.margins, t, generated.truthOf);
  expect(verdicts.filter((verdict) => verdict !== 'protected')).toEqual([]);
};

describe('protectTable, against an attacker who knows every released total', () => {
  it('leaves every small value of a donor release with at least two possible values (threshold 5)', () => {
    fc.assert(
      fc.property(tables({ largestThreeWay: 4 }), (generated) => checkDonorRelease(generated, 5)),
      { numRuns: 150 },
    );
  });

  it('does so for any threshold from 3 to 10', () => {
    fc.assert(
      fc.property(tables({ largestThreeWay: 3 }), fc.integer({ min: 3, max: 10 }), (generated, t) =>
        checkDonorRelease(generated, t),
      ),
      { numRuns: 150 },
    );
  });

  it('protects a three-way table that no cycle can shield, by finding some other second table', () => {
    // Slice c1 of d0 holds 0, 1, 2, 1 under a total of 4: each cycle the search tries through its small
    // counts pushes some total to 5 or a hidden 5 down to 4, so the search for any second table takes over.
    checkDonorRelease(tableOf([3, 2, 2], [3, 0, 2, 7, 0, 1, 2, 1, 3, 0, 1, 3]), 5);
  });

  it('releases everything exactly to internal staff, margins included', () => {
    fc.assert(
      fc.property(tables({ largestThreeWay: 4 }), (generated) => {
        const released = protectTable(generated.table, 'internal', resolvePolicy('internal'));
        for (const entry of entriesOf(released)) {
          expect(entry).toEqual({ key: entry.key, value: generated.truthOf(entry.key) });
        }
      }),
      { numRuns: 100 },
    );
  });

  it('gives the same release whatever order the cells come in', () => {
    const shuffled = tables({ largestThreeWay: 3 }).chain((generated) =>
      fc
        .shuffledSubarray([...generated.table.cells], {
          minLength: generated.table.cells.length,
          maxLength: generated.table.cells.length,
        })
        .map((cells) => ({ original: generated.table, shuffled: { ...generated.table, cells } })),
    );
    fc.assert(
      fc.property(shuffled, fc.integer({ min: 3, max: 10 }), ({ original, shuffled }, t) => {
        const policy = resolvePolicy('public', { threshold: t });
        const release = (table: CountTable) => {
          try {
            return protectTable(table, 'public', policy);
          } catch (error) {
            return (error as Error).message;
          }
        };
        expect(release(shuffled)).toEqual(release(original));
      }),
      { numRuns: 60 },
    );
  });
});
