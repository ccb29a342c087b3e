import { coordinatesOf, type TableLayout } from './countTable.js';

/**
 * The last resort of secondary suppression: a search for any second table in which a small count `p`
 * differs, every cell that is 0 stays 0, every small entry stays in 1 … t − 1 and every other entry
 * stays ≥ t. Hiding the entries that differ then makes the two tables indistinguishable, so the
 * result is a certificate just like a structured move, only less economical. Depth first, cells
 * nearest `p` first, values nearest the truth first, with bounds propagated through every total; it
 * gives up after `budget` steps.
 *
 * Returns a search for one table: given `p`, the entries (cells and margins) that differ; `'none'`
 * when there is no such table (within these rules, a non-small cell rising by at most t); `'gaveUp'`
 * when the budget ran out first.
 */
export const alternativeTableSearch = (
  layout: TableLayout,
  values: readonly number[],
  threshold: number,
  {
    budget = 20_000,
    unseen = () => false,
  }: {
    budget?: number;
    /** Entries no release shows: they bound nothing (see `PlanOptions.unseen`). */
    unseen?: (index: number) => boolean;
  } = {},
): ((p: number) => number[] | 'none' | 'gaveUp') => {
  const t = threshold;
  const { sizes, strides } = layout;
  const coordinates = Array.from({ length: layout.length }, (_, index) => coordinatesOf(layout, index));
  const isSmall = (index: number): boolean => (values[index] as number) >= 1 && (values[index] as number) < t;
  // The cells an entry adds up: every category wherever the entry has Total.
  const cellsOf = (index: number): number[] => {
    let found = [index];
    (coordinates[index] as number[]).forEach((c, i) => {
      if (c !== sizes[i]) return;
      found = found.flatMap((base) =>
        Array.from({ length: sizes[i] as number }, (_, level) => base - (c - level) * (strides[i] as number)),
      );
    });
    return found;
  };
  // Zero cells stay 0, so only the non-zero cells are unknowns, and only non-zero entries constrain them.
  const variables: number[] = [];
  const slotOf = new Int32Array(layout.length).fill(-1);
  for (let index = 0; index < layout.length; index += 1) {
    const isCell = (coordinates[index] as number[]).every((c, i) => c < (sizes[i] as number));
    if (isCell && (values[index] as number) > 0) {
      slotOf[index] = variables.length;
      variables.push(index);
    }
  }
  const constraints = Array.from({ length: layout.length }, (_, index) => index)
    .filter((index) => (values[index] as number) > 0 && !unseen(index))
    .map((index) => ({
      index,
      slots: cellsOf(index)
        .map((cell) => slotOf[cell] as number)
        .filter((slot) => slot >= 0),
      min: isSmall(index) ? 1 : t,
      max: isSmall(index) ? t - 1 : Number.POSITIVE_INFINITY,
    }));
  const constraintsOf: number[][] = variables.map(() => []);
  constraints.forEach(({ slots }, k) => {
    for (const slot of slots) constraintsOf[slot]?.push(k);
  });

  type Bounds = { low: Float64Array; high: Float64Array };

  /** Tightens bounds from the constraints in `queue` and onwards; false when one cannot be met. */
  const propagate = (
    bounds: Bounds,
    queue: number[],
    target: { k: number; min: number; max: number },
  ): boolean => {
    const queued = new Uint8Array(constraints.length);
    for (const k of queue) queued[k] = 1;
    while (queue.length > 0) {
      const k = queue.pop() as number;
      queued[k] = 0;
      const constraint = constraints[k] as (typeof constraints)[number];
      const min = k === target.k ? target.min : constraint.min;
      const max = k === target.k ? target.max : constraint.max;
      let low = 0;
      let high = 0;
      for (const slot of constraint.slots) {
        low += bounds.low[slot] as number;
        high += bounds.high[slot] as number;
      }
      if (low > max || high < min) return false;
      for (const slot of constraint.slots) {
        const slotLow = bounds.low[slot] as number;
        const slotHigh = bounds.high[slot] as number;
        const newLow = Math.max(slotLow, min - (high - slotHigh));
        const newHigh = Math.min(slotHigh, max - (low - slotLow));
        if (newLow > newHigh) return false;
        if (newLow === slotLow && newHigh === slotHigh) continue;
        bounds.low[slot] = newLow;
        bounds.high[slot] = newHigh;
        low += newLow - slotLow;
        high += newHigh - slotHigh;
        for (const other of constraintsOf[slot] ?? []) {
          if (queued[other] === 0) {
            queued[other] = 1;
            queue.push(other);
          }
        }
      }
    }
    return true;
  };

  return (p) => {
    const at = coordinates[p] as number[];
    // How many categories a cell is away from p (a Total of p is near every category).
    const distance = variables.map((cell) =>
      (coordinates[cell] as number[]).reduce(
        (sum, c, i) => sum + (c === at[i] || at[i] === sizes[i] ? 0 : 1),
        0,
      ),
    );
    let steps = 0;
    const search = (
      bounds: Bounds,
      queue: number[],
      target: { k: number; min: number; max: number },
    ): Bounds | false | undefined => {
      steps += 1;
      if (steps > budget) return undefined;
      if (!propagate(bounds, queue, target)) return false;
      let pick = -1;
      for (let slot = 0; slot < variables.length; slot += 1) {
        if (bounds.low[slot] === bounds.high[slot]) continue;
        if (pick === -1 || (distance[slot] as number) < (distance[pick] as number)) pick = slot;
      }
      if (pick === -1) return bounds;
      const low = bounds.low[pick] as number;
      const high = bounds.high[pick] as number;
      const near = Math.min(Math.max(values[variables[pick] as number] as number, low), high);
      for (let step = 0; near - step >= low || near + step <= high; step += 1) {
        for (const value of step === 0 ? [near] : [near + step, near - step]) {
          if (value < low || value > high) continue;
          const next = { low: bounds.low.slice(), high: bounds.high.slice() };
          next.low[pick] = value;
          next.high[pick] = value;
          const found = search(next, [...(constraintsOf[pick] ?? [])], target);
          if (found !== false) return found;
        }
      }
      return false;
    };

    let gaveUp = false;
    const k = constraints.findIndex(({ index }) => index === p);
    const v = values[p] as number;
    for (const [min, max] of [
      [v + 1, t - 1],
      [1, v - 1],
    ] as const) {
      if (min > max) continue;
      steps = 0;
      const start: Bounds = {
        low: Float64Array.from(variables, (cell) => (isSmall(cell) ? 1 : t)),
        high: Float64Array.from(variables, (cell) => (isSmall(cell) ? t - 1 : (values[cell] as number) + t)),
      };
      const found = search(
        start,
        constraints.map((_, c) => c),
        { k, min, max },
      );
      if (found === undefined) gaveUp = true;
      if (found === undefined || found === false) continue;
      return constraints
        .filter(
          ({ index, slots }) =>
            slots.reduce((sum, slot) => sum + (found.low[slot] as number), 0) !== values[index],
        )
        .map(({ index }) => index);
    }
    return gaveUp ? 'gaveUp' : 'none';
  };
};
