import { DisclosureError } from '@lantern/core';
import { alternativeTableSearch } from './alternativeTable.js';
import { coordinatesOf, keyOf, type TableLayout } from './countTable.js';

/*
 * Secondary suppression by certified moves.
 *
 * Take the table extended with a Total level in each dimension: cells and all margins in one array,
 * bound by the relations "each Total is the sum of its line". A move adds +1 or −1 to some entries
 * so that every relation still holds. If every entry a move touches is hidden, and after the move
 * each of them still lies in what the attacker knows of it (a small count in 1 … t − 1; any other
 * hidden value 0 or ≥ t, and since zeros are never hidden, here ≥ t), then the attacker cannot tell
 * the real table from the moved one. A move through a small count p is a certificate that p is
 * protected: an explicit second table, not an estimate.
 *
 * Moves searched (each is a valid change of the extended table):
 * - one dimension: p with one other level of its line (p +1 and a category −1, or p and the Total
 *   both +1);
 * - two or more dimensions: pick two dimensions i, j and, in every other dimension l, a second level
 *   bₗ beside p's. The entries of the (i, j) plane form a 2-way table with its totals; flipping the
 *   sign of its total row and column turns every relation into "this line sums to 0", so the moves of
 *   the plane are the cycles that alternate +1 and −1 through rows and columns. Such a cycle, repeated
 *   with alternating signs across the levels {aₗ, bₗ} of the other dimensions, is a move of the whole
 *   table. The 2^k corners of a box (the hypercube method) are the 4-cycles.
 * For one- and two-way tables these moves are all there is: any second table that fits what is
 * released and leaves no hidden value at 0 can be reached by one such cycle (the relations form a
 * network matrix, so every move is a sum of ±1 cycles, each one safe on its own). For three or more
 * dimensions they are a subset, so the search is sound but may hide more than the least possible.
 *
 * For each small count without a certificate, the cheapest move (see `costOf`) becomes one by hiding
 * its released entries. Hiding more never breaks a certificate (it swaps an equation the attacker
 * had for a range the true value already lies in), so one pass protects every small count; a last
 * pass releases again each secondary value that no certificate needs.
 */

const released = 0;
const primary = 1;
const secondary = 2;

/** Released, hidden because small (primary), or hidden so small counts cannot be worked out (secondary). */
export const entryStatus = { released, primary, secondary } as const;

/** Hiding the grand total outweighs any sum of hidden values. */
const grandTotalCost = 2 ** 40;

/** A move through a small count: every entry it touches, and what hiding the released ones costs. */
interface Move {
  readonly entries: readonly number[];
  readonly cost: number;
}

/** Which moves to accept: any (priced by what they would hide), or only moves through hidden entries. */
type Search = 'cheapest' | 'hiddenOnly';

/**
 * Hiding a total over one of the dimensions whose totals come first costs this much more, for each
 * of them it adds up over: more than any sum of hidden values a report table holds, less than the
 * grand total.
 */
const totalFirstCost = 2 ** 20;

/** What a plan takes beyond the table: see {@link planSuppression}. */
export interface PlanOptions {
  /** One flag per dimension: its totals are hidden only when hiding cells will not do. */
  readonly totalsFirst?: readonly boolean[];
  /**
   * Whether an entry is one no release shows (a total that means nothing to a reader, such as
   * every first month of a quarter added up): it is hidden from the start, needs no protection
   * of its own, and a certificate may pass through it at no cost, giving it any value a sum of
   * cells may take. What is protected is every entry that is shown.
   */
  readonly unseen?: (index: number) => boolean;
}

/** Plans which entries of a table to hide for an outside audience: one {@link entryStatus} per entry. */
export const planSuppression = (
  layout: TableLayout,
  values: readonly number[],
  threshold: number,
  options: PlanOptions = {},
): Uint8Array => {
  const { sizes, strides } = layout;
  const k = sizes.length;
  const totalsFirst = options.totalsFirst ?? [];
  const status = new Uint8Array(layout.length);
  const unseen = new Uint8Array(layout.length);
  if (options.unseen) {
    for (let index = 0; index < layout.length; index += 1) {
      if (options.unseen(index)) {
        unseen[index] = 1;
        status[index] = secondary;
      }
    }
  }
  const coordinates = Array.from({ length: layout.length }, (_, index) => coordinatesOf(layout, index));
  const isMargin = coordinates.map((at) => at.some((c, i) => c === sizes[i]));
  /** What hiding each entry costs beyond its value, for the totals that come first it is. */
  const totalCost = coordinates.map(
    (at) => at.filter((c, i) => c === sizes[i] && totalsFirst[i] === true).length * totalFirstCost,
  );

  const primaries: number[] = [];
  for (let index = 0; index < layout.length; index += 1) {
    const v = values[index] as number;
    if (v >= 1 && v < threshold && unseen[index] === 0) {
      status[index] = primary;
      primaries.push(index);
    }
  }

  /**
   * Whether `index` may change by `step` (±1) and still fit what the attacker knows of it. A released
   * entry is judged as it would be once hidden: it is not small, so it must stay ≥ t (or be 0, which a
   * step of 1 cannot reach from ≥ t, and a released 0 can never move).
   */
  const canStep = (index: number, step: number): boolean => {
    const v = values[index] as number;
    if (unseen[index] === 1) return v + step >= 0;
    return status[index] === primary
      ? v + step >= 1 && v + step <= threshold - 1
      : v > 0 && v + step >= threshold;
  };

  /**
   * The cost of hiding `index`, added up over a move and compared as one number: 0 if it is hidden
   * already; else its value, plus a little for a margin (prefer hiding cells) and a little more for any
   * entry (prefer fewer), plus {@link totalFirstCost} for each dimension whose totals come first that
   * it adds up over, plus {@link grandTotalCost} for the grand total (hide it only when nothing
   * else works). The fractions are powers of two, so sums stay exact.
   */
  const costOf = (index: number): number =>
    status[index] !== released
      ? 0
      : (values[index] as number) +
        (isMargin[index] ? 2 ** -8 : 0) +
        2 ** -16 +
        (totalCost[index] as number) +
        (index === layout.grandTotal ? grandTotalCost : 0);

  /** The cost of hiding what `entries` need, if each can take its change; else NaN. */
  const priceChange = (entries: readonly number[], change: (e: number) => number, search: Search): number => {
    let cost = 0;
    for (let e = 0; e < entries.length; e += 1) {
      const index = entries[e] as number;
      if (search === 'hiddenOnly' && status[index] === released) return Number.NaN;
      if (!canStep(index, change(e))) return Number.NaN;
      cost += costOf(index);
    }
    return cost;
  };

  /** One-way tables: p with one other level of its line. */
  const searchLine = (p: number, search: Search): Move | undefined => {
    const size = sizes[0] as number;
    const a = coordinates[p]?.[0] as number;
    let best: Move | undefined;
    for (const direction of [1, -1]) {
      for (let b = 0; b <= size; b += 1) {
        if (b === a) continue;
        const entries = [p, p + (b - a) * (strides[0] as number)];
        // A category moves against p; the Total moves with it.
        const cost = priceChange(
          entries,
          (e) => (e === 0 || a === size || b === size ? direction : -direction),
          search,
        );
        if (Number.isNaN(cost) || (best !== undefined && cost >= best.cost)) continue;
        best = { entries, cost };
        if (cost === 0) return best;
      }
    }
    return best;
  };

  /**
   * Tables of two or more dimensions: cycles in a plane (i, j), repeated across levels {aₗ, bₗ} of the
   * others. The levels bₗ are chosen one dimension at a time, and a choice is dropped with every
   * choice under it as soon as p's own corners so far rule it out: a corner that cannot take its
   * change in either direction, or corners that already cost as much as the best move found. Every
   * corner chosen so far is a corner of each full choice under it, so nothing that could beat the
   * best move is dropped, and the moves found are those a search of every choice finds.
   */
  const searchPlanes = (p: number, search: Search): Move | undefined => {
    const at = coordinates[p] as number[];
    let best: Move | undefined;
    for (let i = 0; i < k; i += 1) {
      for (let j = i + 1; j < k; j += 1) {
        const others = sizes.map((_, l) => l).filter((l) => l !== i && l !== j);
        const partners = others.map((l) => {
          const levels: number[] = [];
          for (let level = 0; level <= (sizes[l] as number); level += 1)
            if (level !== at[l]) levels.push(level);
          return levels;
        });
        const choice = others.map(() => 0);
        /** A full choice: the corners repeated across the other dimensions, offset from the plane's entry, and sign. */
        const tryChoice = (): Move | undefined => {
          const offsets: number[] = [];
          const signs: number[] = [];
          for (let mask = 0; mask < 1 << others.length; mask += 1) {
            let offset = 0;
            let sign = 1;
            for (let o = 0; o < others.length; o += 1) {
              if ((mask & (1 << o)) === 0) continue;
              const l = others[o] as number;
              const b = (partners[o] as number[])[choice[o] as number] as number;
              offset += (b - (at[l] as number)) * (strides[l] as number);
              if (b !== sizes[l] && at[l] !== sizes[l]) sign = -sign;
            }
            offsets.push(offset);
            signs.push(sign);
          }
          return searchPlane(p, i, j, offsets, signs, search, best?.cost ?? Number.POSITIVE_INFINITY);
        };
        // p's corners over the dimensions chosen so far: the first `n` of these, each an offset from
        // p and a sign. Choosing a level for one more dimension writes the next `n`.
        const cornerOffsets = new Int32Array(1 << others.length);
        const cornerSigns = new Int8Array(1 << others.length);
        cornerSigns[0] = 1;
        /**
         * Chooses the levels of others[o] down to others[0] (the last dimension changes slowest, as
         * the corners are listed), given p's first `n` corners, what they cost, and whether p may go
         * up or down with them.
         */
        const choose = (o: number, n: number, cost: number, up: boolean, down: boolean): boolean => {
          if (o < 0) {
            const found = tryChoice();
            if (found === undefined) return false;
            best = found;
            return found.cost === 0;
          }
          const l = others[o] as number;
          const levels = partners[o] as number[];
          for (let c = 0; c < levels.length; c += 1) {
            const b = levels[c] as number;
            choice[o] = c;
            const shift = (b - (at[l] as number)) * (strides[l] as number);
            const flips = b !== sizes[l] && at[l] !== sizes[l] ? -1 : 1;
            let total = cost;
            let canUp = up;
            let canDown = down;
            for (let k = 0; k < n && (canUp || canDown); k += 1) {
              const offset = (cornerOffsets[k] as number) + shift;
              const sign = (cornerSigns[k] as number) * flips;
              cornerOffsets[n + k] = offset;
              cornerSigns[n + k] = sign;
              const index = p + offset;
              if (search === 'hiddenOnly' && status[index] === released) {
                canUp = false;
                canDown = false;
                break;
              }
              canUp &&= canStep(index, sign);
              canDown &&= canStep(index, -sign);
              total += costOf(index);
            }
            if (!canUp && !canDown) continue;
            if (best !== undefined && total >= best.cost) continue;
            if (choose(o - 1, 2 * n, total, canUp, canDown)) return true;
          }
          return false;
        };
        if (choose(others.length - 1, 1, costOf(p), canStep(p, 1), canStep(p, -1))) return best;
      }
    }
    return best;
  };

  const searchPlane = (
    p: number,
    i: number,
    j: number,
    offsets: readonly number[],
    signs: readonly number[],
    search: Search,
    bound: number,
  ): Move | undefined => {
    const at = coordinates[p] as number[];
    const rows = (sizes[i] as number) + 1;
    const columns = (sizes[j] as number) + 1;
    const rowStride = strides[i] as number;
    const columnStride = strides[j] as number;
    const origin = p - (at[i] as number) * rowStride - (at[j] as number) * columnStride;
    const cornersOf = (r: number, c: number): number[] =>
      offsets.map((offset) => origin + r * rowStride + c * columnStride + offset);
    // Flipping the sign of the plane's total row and column makes every line sum to 0.
    const flip = (r: number, c: number): number => ((r === rows - 1) !== (c === columns - 1) ? -1 : 1);
    /** The cost of giving plane entry (r, c) the change y, repeated with its sign at every corner (NaN: not allowed). */
    const priceEntry = (r: number, c: number, y: number): number => {
      const base = origin + r * rowStride + c * columnStride;
      const change = y * flip(r, c);
      let cost = 0;
      for (let o = 0; o < offsets.length; o += 1) {
        const index = base + (offsets[o] as number);
        if (search === 'hiddenOnly' && status[index] === released) return Number.NaN;
        if (!canStep(index, change * (signs[o] as number))) return Number.NaN;
        cost += costOf(index);
      }
      return cost;
    };
    const pr = at[i] as number;
    const pc = at[j] as number;
    // p changes by `direction`, its plane entry by y = direction · flip; y = +1 is an arc row → column.
    const starts = [1, -1].map((direction) => {
      const y = direction * flip(pr, pc);
      return { y, cost: priceEntry(pr, pc, y) };
    });
    if (starts.every(({ cost }) => Number.isNaN(cost))) return undefined;
    // Each plane entry is priced when the path search first asks.
    const known = new Float64Array(rows * columns * 2).fill(-1);
    const price = (r: number, c: number, y: number): number => {
      const slot = (r * columns + c) * 2 + (y > 0 ? 0 : 1);
      if ((known[slot] as number) < 0) known[slot] = priceEntry(r, c, y);
      return known[slot] as number;
    };
    let best: Move | undefined;
    for (const { y, cost: first } of starts) {
      if (Number.isNaN(first)) continue;
      const limit = (best?.cost ?? bound) - first;
      if (limit <= 0) continue;
      const back = cheapestPath(rows, columns, price, { row: pr, column: pc }, y, limit);
      if (back === undefined) continue;
      const entries = cornersOf(pr, pc);
      for (const [r, c] of back.path) entries.push(...cornersOf(r, c));
      best = { entries, cost: first + back.cost };
    }
    return best;
  };

  const searchMove = (p: number, search: Search): Move | undefined =>
    k === 1 ? searchLine(p, search) : searchPlanes(p, search);

  /**
   * When no move of those families fits, any second table will do (with three or more dimensions one
   * may exist outside them). Throws a DisclosureError when there is none.
   */
  let alternativeTable: ReturnType<typeof alternativeTableSearch> | undefined;
  const anyAlternative = (p: number): Move => {
    alternativeTable ??= alternativeTableSearch(layout, values, threshold, {
      unseen: (index) => unseen[index] === 1,
    });
    const entries = alternativeTable(p);
    if (typeof entries === 'string') {
      const why =
        entries === 'none'
          ? `even with every other figure hidden, it could be worked out from the totals and the "<${threshold}" labels around it`
          : 'the search for a safe way to hide it gave up (the table is large and dense with small counts)';
      throw new DisclosureError(
        `The count ${JSON.stringify(keyOf(layout, p))} cannot be protected: ${why}. Merge small categories ` +
          '(or coarsen areas or periods) and release the table again, or release it to internal staff only.',
      );
    }
    return { entries, cost: entries.reduce((sum, e) => sum + costOf(e), 0) };
  };

  const certificates = new Map<number, Move>();
  for (const p of primaries) {
    const move = searchMove(p, 'cheapest') ?? anyAlternative(p);
    for (const index of move.entries) if (status[index] === released) status[index] = secondary;
    certificates.set(p, move);
  }

  // Release again, most recently hidden first, every secondary value that no certificate needs
  // (one no release shows stays hidden).
  const hiddenOrder = new Set<number>();
  for (const p of primaries) {
    for (const index of (certificates.get(p) as Move).entries) {
      if (status[index] === secondary && unseen[index] === 0) hiddenOrder.add(index);
    }
  }
  for (const s of [...hiddenOrder].reverse()) {
    const dependants = primaries.filter((p) => (certificates.get(p) as Move).entries.includes(s));
    status[s] = released;
    const replacements = new Map<number, Move>();
    for (const p of dependants) {
      const move = searchMove(p, 'hiddenOnly');
      if (move === undefined) break;
      replacements.set(p, move);
    }
    if (replacements.size === dependants.length) {
      for (const [p, move] of replacements) certificates.set(p, move);
    } else {
      status[s] = secondary;
    }
  }
  return status;
};

/**
 * The cheapest way back to close a cycle through plane entry `p` given the change `y`: an alternating
 * path from p's column to p's row (y = +1: p was a row → column arc) or from p's row to p's column
 * (y = −1), not using p's entry again. From a row it goes to a column through an entry taking +1, from
 * a column to a row through an entry taking −1; `price` prices each (NaN: not allowed). Dijkstra over
 * the plane's rows and columns, giving up on paths that cost `limit` or more. Returns the plane entries
 * of the path, in order.
 */
const cheapestPath = (
  rows: number,
  columns: number,
  price: (r: number, c: number, y: number) => number,
  p: { readonly row: number; readonly column: number },
  y: number,
  limit: number,
): { path: [number, number][]; cost: number } | undefined => {
  // Nodes 0 … rows − 1 are rows, rows … rows + columns − 1 are columns.
  const count = rows + columns;
  const start = y > 0 ? rows + p.column : p.row;
  const goal = y > 0 ? p.row : rows + p.column;
  const distance = new Float64Array(count).fill(Number.POSITIVE_INFINITY);
  const previous = new Int32Array(count).fill(-1);
  const done = new Uint8Array(count);
  distance[start] = 0;
  for (;;) {
    let node = -1;
    for (let n = 0; n < count; n += 1) {
      if (done[n] === 0 && (distance[n] as number) < Number.POSITIVE_INFINITY) {
        if (node === -1 || (distance[n] as number) < (distance[node] as number)) node = n;
      }
    }
    if (node === -1 || (distance[node] as number) >= limit) return undefined;
    if (node === goal) break;
    done[node] = 1;
    const fromRow = node < rows;
    for (let t = 0; t < (fromRow ? columns : rows); t += 1) {
      const next = fromRow ? rows + t : t;
      const r = fromRow ? node : t;
      const c = fromRow ? t : node - rows;
      if (done[next] === 1 || (r === p.row && c === p.column)) continue;
      const step = price(r, c, fromRow ? 1 : -1);
      if (Number.isNaN(step)) continue;
      if ((distance[node] as number) + step < (distance[next] as number)) {
        distance[next] = (distance[node] as number) + step;
        previous[next] = node;
      }
    }
  }
  const path: [number, number][] = [];
  for (let node = goal; node !== start; node = previous[node] as number) {
    const from = previous[node] as number;
    path.push(from < rows ? [from, node - rows] : [node, from - rows]);
  }
  return { path, cost: distance[goal] as number };
};
