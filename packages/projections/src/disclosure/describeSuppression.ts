import type { ReleasedRatioTable } from './protectRatio.js';
import type { ReleasedTable } from './protectTable.js';

/** How many entries of one part of a table (its cells, or its margins) were hidden, and why. */
export interface SuppressionCounts {
  readonly total: number;
  /** Hidden because small (shown as `"<5"`; for percentages: resting on a small count). */
  readonly primary: number;
  /** Hidden so that the small ones cannot be worked out from the totals. */
  readonly secondary: number;
}

/** What a release hid: counts for its cells and its margins, and a footnote to print under it. */
export interface SuppressionSummary {
  readonly cells: SuppressionCounts;
  readonly margins: SuppressionCounts;
  /** One or two sentences for a report or an export, e.g. `3 counts from 1 to 4 are shown as "<5"; …`. */
  readonly footnote: string;
}

type Entry = { readonly key: unknown; readonly suppressed?: 'primary' | 'secondary' };

const countOf = (entries: readonly Entry[]): SuppressionCounts => ({
  total: entries.length,
  primary: entries.filter((entry) => entry.suppressed === 'primary').length,
  secondary: entries.filter((entry) => entry.suppressed === 'secondary').length,
});

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** Summarises what `released` hid, with a footnote that reports and exports can print under the table. */
export const describeSuppression = (released: ReleasedTable | ReleasedRatioTable): SuppressionSummary => {
  const cells = countOf(released.cells);
  const margins = countOf(released.margins);
  const primary = cells.primary + margins.primary;
  const secondary = cells.secondary + margins.secondary;
  const small = `1 to ${released.threshold - 1}`;
  let footnote: string;
  if (released.audience === 'internal') {
    footnote = 'Internal release: no figure is hidden.';
  } else if (released.kind === 'percentages') {
    footnote =
      primary === 0
        ? `Every percentage rests on counts of 0 or at least ${released.threshold}: none is withheld.`
        : `${plural(primary, 'percentage is', 'percentages are')} withheld because a count behind ${primary === 1 ? 'it' : 'them'} is from ${small}.`;
  } else if (primary === 0) {
    footnote = `No count is from ${small}: nothing is hidden.`;
  } else {
    footnote =
      `${plural(primary, 'count', 'counts')} from ${small} ${primary === 1 ? 'is' : 'are'} shown as "<${released.threshold}"` +
      (secondary === 0
        ? '.'
        : `; ${plural(secondary, 'further figure is', 'further figures are')} hidden so that ${primary === 1 ? 'it' : 'they'} cannot be worked out from the totals.`);
  }
  return { cells, margins, footnote };
};
