import type { Audience } from '@lantern/core';
import {
  type CountTable,
  checkDeclaredDimensions,
  isCell,
  keyOf,
  readCountTable,
  requireCount,
} from './countTable.js';
import { type DisclosurePolicy, requireAudience, requirePolicy } from './disclosurePolicy.js';
import { entryStatus, planSuppression } from './secondarySuppression.js';

/** How a small count is shown: `"<5"` for threshold 5. */
export type SmallCountLabel = `<${number}`;

/**
 * One released count:
 * - `{ value: 12 }` released exactly (zero is released too: `{ value: 0 }`);
 * - `{ value: '<5', suppressed: 'primary' }` a count from 1 to threshold − 1;
 * - `{ value: null, suppressed: 'secondary' }` hidden, although not small, so that the small counts
 *   cannot be worked out from the totals. It is 0 or at least the threshold.
 */
export type ReleasedCount =
  | { readonly value: number }
  | { readonly value: SmallCountLabel; readonly suppressed: 'primary' }
  | { readonly value: null; readonly suppressed: 'secondary' };

/** How a table is protected, beyond its audience's policy. */
export interface ProtectOptions {
  /**
   * Dimensions whose totals are hidden only when hiding cells will not do: a total over sex is a
   * headline figure, a figure by sex a detail. Each such dimension a total adds up over makes it
   * costlier to hide. Default none: the values hidden are as few and as small as can be.
   */
  readonly totalsFirst?: readonly string[];
  /**
   * Whether an entry (by its key) is one no release will show, a total that means nothing to a
   * reader: it is hidden, needs no protection of its own, and bounds nothing an attacker could
   * try. Every other entry is protected as shown. Default none.
   */
  readonly unseen?: (key: Readonly<Record<string, string>>) => boolean;
}

/**
 * A released cell or margin. A margin's key leaves out the dimensions it adds up over: in an
 * `['area', 'sex']` table, `{ area: 'KH-12' }` is the total of KH-12 over both sexes and `{}` is the grand total.
 */
export type ReleasedEntry = { readonly key: Readonly<Record<string, string>> } & ReleasedCount;

/** A count table made fit for one audience. */
export interface ReleasedTable {
  readonly kind: 'counts';
  readonly audience: Audience;
  /** The policy's threshold (small counts are 1 … threshold − 1; nothing is hidden for `internal`). */
  readonly threshold: number;
  readonly dimensions: readonly string[];
  /** The categories of each dimension, in the order cells and margins are listed. */
  readonly categories: Readonly<Record<string, readonly string[]>>;
  /** Every combination of categories, absent ones as 0. */
  readonly cells: readonly ReleasedEntry[];
  /** Every margin: the totals over each subset of the dimensions, down to the grand total (key `{}`). */
  readonly margins: readonly ReleasedEntry[];
}

const smallLabel = (threshold: number): SmallCountLabel => `<${threshold}`;

/**
 * A count on its own (no totals released with it) for `audience`: `{ value: '<5', suppressed: 'primary' }`
 * when it is from 1 to threshold − 1 and the audience is outside the programme, else `{ value }`.
 * A count that is also part of a released table must be taken from that table's release instead.
 */
export const protectCount = (value: number, audience: Audience, policy: DisclosurePolicy): ReleasedCount => {
  requirePolicy(requireAudience(audience), policy);
  requireCount(value, 'The count');
  return audience !== 'internal' && value >= 1 && value < policy.threshold
    ? { value: smallLabel(policy.threshold), suppressed: 'primary' }
    : { value };
};

/**
 * Releases a count table, with every margin, to `audience`.
 *
 * For `internal` everything is released exactly. For `donor` and `public`:
 * - the table's area and period dimensions, when declared, must be no finer than the policy allows
 *   (DisclosureError otherwise: coarsen first with `coarsenAreas`, or cut coarser periods);
 * - primary suppression: every cell *and margin* from 1 to threshold − 1 is shown as `"<threshold"`
 *   (a row total of 3 is itself a small count). Zero is shown as 0;
 * - secondary suppression: further cells and margins are hidden until no primary-hidden value can be
 *   worked out exactly.
 *
 * Attacker model. The attacker sees every released value and knows every relation of the table
 * (each margin is the sum of the cells it covers), that every value is a whole number ≥ 0, that a
 * `"<t"` value is in 1 … t − 1, and that a secondary-hidden value is 0 or ≥ t (were it small it would
 * say `"<t"`). A primary-hidden value is protected when at least two whole values for it fit all of
 * that. Modelling secondary-hidden values as merely ≥ 0 would describe a *weaker* attacker (it admits
 * more tables, so fewer values look pinned), and protection against it is not enough: with clubs of
 * 1, 5 and 20 and the total released, hiding the 5 beside the 1 looks safe when 5 may become 4, but
 * a hidden non-small value stays ≥ 5, so the total pins the 1. This module hides the 20 instead.
 *
 * The auditor decides with certificates, not estimates: a small value counts as protected only when
 * it exhibits a second whole-number table that fits everything released and differs in that value
 * (a ±1 cycle through hidden entries, or failing that any second table found by search; see
 * `secondarySuppression.ts`). LP bounds or interval tightening over [0, ∞) would not do: they answer
 * for the weaker attacker, and they are not integer-aware. For one- and two-way tables the cycles
 * are complete (any second table that leaves no hidden value at 0 implies one); beyond that the
 * auditor is sound but not complete, so it may hide more than the least possible, never less.
 *
 * Some tables cannot be protected at all, because the labels give the counts away: four clubs shown
 * as `"<5"` under a total of `"<5"` hold exactly one child each. Those are refused.
 *
 * The extra values hidden are chosen greedily and deterministically: for each primary value, the
 * change that hides the smallest total of released values, hides the grand total only when nothing
 * else works, and among equals hides cells rather than margins and as few entries as possible; then
 * every secondary value no longer needed is released again.
 *
 * Periods are a dimension like any other: a month total hidden next to a released year total and
 * released other months is exactly a cell next to its margin, so the same suppression stops a hidden
 * month being worked out from its neighbours and the total. This holds within one release: the
 * figures that will be published together (months and their year, areas and their province) must be
 * one table, because a separate release of an overlapping table adds relations this table never saw.
 *
 * Throws a DisclosureError for a malformed table, a table finer than the policy allows, or a small
 * count that no suppression can protect (merge categories, or coarsen areas or periods).
 */
export const protectTable = (
  table: CountTable,
  audience: Audience,
  policy: DisclosurePolicy,
  options: ProtectOptions = {},
): ReleasedTable => {
  requirePolicy(requireAudience(audience), policy);
  const { layout, values } = readCountTable(table);
  checkDeclaredDimensions(table, audience, policy);

  const { unseen } = options;
  const status =
    audience === 'internal'
      ? new Uint8Array(layout.length)
      : planSuppression(layout, values, policy.threshold, {
          totalsFirst: layout.dimensions.map((d) => options.totalsFirst?.includes(d) === true),
          ...(unseen === undefined ? {} : { unseen: (index: number) => unseen(keyOf(layout, index)) }),
        });
  const label = smallLabel(policy.threshold);
  const cells: ReleasedEntry[] = [];
  const margins: ReleasedEntry[] = [];
  for (let index = 0; index < layout.length; index += 1) {
    const key = keyOf(layout, index);
    const entry: ReleasedEntry =
      status[index] === entryStatus.primary
        ? { key, value: label, suppressed: 'primary' }
        : status[index] === entryStatus.secondary
          ? { key, value: null, suppressed: 'secondary' }
          : { key, value: values[index] as number };
    (isCell(layout, index) ? cells : margins).push(entry);
  }
  const categories = Object.fromEntries(layout.dimensions.map((d, i) => [d, layout.categories[i] ?? []]));
  return {
    kind: 'counts',
    audience,
    threshold: policy.threshold,
    dimensions: layout.dimensions,
    categories,
    cells,
    margins,
  };
};

const sameKey = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean => {
  const names = Object.keys(a);
  return names.length === Object.keys(b).length && names.every((name) => a[name] === b[name]);
};

/** The released cell or margin with exactly `key` (a margin's key leaves out the dimensions it totals), if any. */
export const findReleased = (
  released: ReleasedTable,
  key: Readonly<Record<string, string>>,
): ReleasedEntry | undefined =>
  (Object.keys(key).length === released.dimensions.length ? released.cells : released.margins).find((entry) =>
    sameKey(entry.key, key),
  );
