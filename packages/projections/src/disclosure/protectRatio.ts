import { type Audience, DisclosureError } from '@lantern/core';
import {
  cellIndexOf,
  checkDeclaredDimensions,
  fillMargins,
  isCell,
  keyOf,
  layoutOf,
  requireCount,
  type TableShape,
} from './countTable.js';
import { type DisclosurePolicy, requireAudience, requirePolicy } from './disclosurePolicy.js';

/** The counts behind a percentage: `numerator` of `denominator` (e.g. 12 of 40 children placed with family). */
export interface RatioCounts {
  readonly numerator: number;
  readonly denominator: number;
}

/** Why a percentage was withheld: which of its counts is from 1 to threshold − 1. */
export type RatioSuppressionReason = 'smallDenominator' | 'smallNumerator' | 'smallComplement';

/**
 * One released percentage:
 * - `{ value: 30 }` the percentage, 0 … 100, unrounded;
 * - `{ value: null, suppressed: 'primary', reason }` withheld because a count behind it is small;
 * - `{ value: null, reason: 'noObservations' }` there is nothing to divide by (denominator 0).
 */
export type ReleasedRatio =
  | { readonly value: number }
  | { readonly value: null; readonly suppressed: 'primary'; readonly reason: RatioSuppressionReason }
  | { readonly value: null; readonly reason: 'noObservations' };

const isSmall = (count: number, threshold: number): boolean => count >= 1 && count < threshold;

const requireRatioCounts = ({ numerator, denominator }: RatioCounts, where: string): void => {
  requireCount(numerator, `The numerator of ${where}`);
  requireCount(denominator, `The denominator of ${where}`);
  if (numerator > denominator) {
    throw new DisclosureError(
      `The numerator of ${where} (${numerator}) is larger than its denominator (${denominator}). ` +
        'A percentage counts part of a group: check that both count the same children, period and place.',
    );
  }
};

const releaseRatio = (
  { numerator, denominator }: RatioCounts,
  audience: Audience,
  threshold: number,
): ReleasedRatio => {
  if (denominator === 0) return { value: null, reason: 'noObservations' };
  if (audience !== 'internal') {
    const reason: RatioSuppressionReason | undefined = isSmall(denominator, threshold)
      ? 'smallDenominator'
      : isSmall(numerator, threshold)
        ? 'smallNumerator'
        : isSmall(denominator - numerator, threshold)
          ? 'smallComplement'
          : undefined;
    if (reason !== undefined) return { value: null, suppressed: 'primary', reason };
  }
  return { value: (100 * numerator) / denominator };
};

/**
 * A percentage for `audience`. Outside the programme it is released only when the numerator, the
 * denominator and the complement (denominator − numerator: "12 of 14 were placed" says 2 were not)
 * are each 0 or at least the threshold; otherwise it is withheld with the reason. Internal releases
 * always show it. Throws a DisclosureError for counts that are not whole numbers ≥ 0 or a numerator
 * larger than its denominator.
 *
 * The rule protects the percentage on its own. If its numerator or denominator is also released as a
 * count, release that count through {@link protectTable}, and release the percentage only where those
 * counts were released.
 */
export const protectRatio = (
  counts: RatioCounts,
  audience: Audience,
  policy: DisclosurePolicy,
): ReleasedRatio => {
  requirePolicy(requireAudience(audience), policy);
  requireRatioCounts(counts, 'the percentage');
  return releaseRatio(counts, audience, policy.threshold);
};

/** One cell of a table of percentages: the counts behind it for one combination of categories. */
export interface RatioCell extends RatioCounts {
  readonly key: Readonly<Record<string, string>>;
}

/** Counts behind percentages by every combination of categories; absent combinations are 0 of 0. */
export interface RatioTable extends TableShape {
  readonly cells: readonly RatioCell[];
}

/** A released percentage cell or margin (a margin's key leaves out the dimensions it pools). */
export type ReleasedRatioEntry = { readonly key: Readonly<Record<string, string>> } & ReleasedRatio;

/** A table of percentages made fit for one audience. */
export interface ReleasedRatioTable {
  readonly kind: 'percentages';
  readonly audience: Audience;
  readonly threshold: number;
  readonly dimensions: readonly string[];
  readonly categories: Readonly<Record<string, readonly string[]>>;
  readonly cells: readonly ReleasedRatioEntry[];
  /** The pooled percentage (Σ numerators / Σ denominators) of every margin, down to the grand total `{}`. */
  readonly margins: readonly ReleasedRatioEntry[];
}

/**
 * Applies {@link protectRatio} to every cell of a table of percentages and to every margin (pooled:
 * the sum of the numerators over the sum of the denominators). Area and period dimensions, when
 * declared, are checked as for {@link protectTable}.
 *
 * Percentages carry no exact linear relation between a margin and its cells (the weights are the
 * unknown denominators), so a withheld percentage cannot be worked out from the others alone. It can
 * be once the counts behind it are published too: release those counts through {@link protectTable}
 * and show a percentage only where its numerator and denominator were released there.
 */
export const protectRatioTable = (
  table: RatioTable,
  audience: Audience,
  policy: DisclosurePolicy,
): ReleasedRatioTable => {
  requirePolicy(requireAudience(audience), policy);
  const layout = layoutOf(
    table.dimensions,
    table.cells.map((cell) => cell.key),
    table.categories,
  );
  checkDeclaredDimensions(table, audience, policy);
  const numerators = new Array<number>(layout.length).fill(0);
  const denominators = new Array<number>(layout.length).fill(0);
  const seen = new Set<number>();
  for (const cell of table.cells) {
    const where = `cell ${JSON.stringify(cell.key)}`;
    requireRatioCounts(cell, where);
    const index = cellIndexOf(layout, cell.key);
    if (seen.has(index)) {
      throw new DisclosureError(`${where} appears twice: add its counts together into one cell first.`);
    }
    seen.add(index);
    numerators[index] = cell.numerator;
    denominators[index] = cell.denominator;
  }
  fillMargins(layout, numerators);
  fillMargins(layout, denominators);
  const cells: ReleasedRatioEntry[] = [];
  const margins: ReleasedRatioEntry[] = [];
  for (let index = 0; index < layout.length; index += 1) {
    const entry: ReleasedRatioEntry = {
      key: keyOf(layout, index),
      ...releaseRatio(
        { numerator: numerators[index] as number, denominator: denominators[index] as number },
        audience,
        policy.threshold,
      ),
    };
    (isCell(layout, index) ? cells : margins).push(entry);
  }
  return {
    kind: 'percentages',
    audience,
    threshold: policy.threshold,
    dimensions: layout.dimensions,
    categories: Object.fromEntries(layout.dimensions.map((d, i) => [d, layout.categories[i] ?? []])),
    cells,
    margins,
  };
};

/** A median (e.g. days from disclosure to placement) and how many observations it is the median of. */
export interface MedianObservation {
  readonly median: number;
  readonly count: number;
}

/**
 * One released median: `{ value }`; `{ value: null, suppressed: 'primary', reason: 'fewObservations' }`
 * when fewer observations than the threshold stand behind it; `{ value: null, reason: 'noObservations' }`
 * when there are none.
 */
export type ReleasedMedian =
  | { readonly value: number }
  | { readonly value: null; readonly suppressed: 'primary'; readonly reason: 'fewObservations' }
  | { readonly value: null; readonly reason: 'noObservations' };

/**
 * A median for `audience`: outside the programme it is released only when it is the median of at
 * least `threshold` observations (the median of 3 placements is one child's own duration).
 */
export const protectMedian = (
  observation: MedianObservation,
  audience: Audience,
  policy: DisclosurePolicy,
): ReleasedMedian => {
  requirePolicy(requireAudience(audience), policy);
  requireCount(observation.count, 'The number of observations behind the median');
  if (observation.count === 0) return { value: null, reason: 'noObservations' };
  if (typeof observation.median !== 'number' || !Number.isFinite(observation.median)) {
    throw new DisclosureError(
      `The median is ${String(observation.median)}; give a finite number (e.g. a duration in days).`,
    );
  }
  if (audience !== 'internal' && observation.count < policy.threshold) {
    return { value: null, suppressed: 'primary', reason: 'fewObservations' };
  }
  return { value: observation.median };
};
