import { StoreError } from '@lantern/core';
import type { ReleasedEntry, ReleasedRatioEntry } from '../disclosure/index.js';

/*
 * A count of things counted once, or a stock, goes outside the programme period by period, each
 * period's table protected on its own. Once a period has ended and gone out, its figures are kept
 * in the register of releases as they went out, and given again as they went out ever after:
 * records of it made since reach the programme's own figures, not those outside it, and two
 * releases of it cannot be set side by side. A period that had not ended when it went out (the
 * current quarter, the life of the programme) is not kept: a later release of it whose figures
 * changed is refused (see `claimPeriods` in releaseIndicator.ts). Medians, and percentages of such
 * counts, go out the same way, each breakdown asked for apart (each is protected by it alone).
 */

/** A median hidden because too few observations are behind it. */
export interface FewObservationsEntry {
  readonly key: Readonly<Record<string, string>>;
  readonly value: null;
  readonly suppressed: 'few-observations';
}

/** One figure of a period as it went out: a count (or a sum), a median or a percentage. */
export type FrozenEntry = ReleasedEntry | FewObservationsEntry | ReleasedRatioEntry;

/** A period's table as it went out: the breakdown it kept and every figure of it, totals too. */
export interface FrozenPeriod {
  readonly dimensions: readonly string[];
  readonly entries: readonly FrozenEntry[];
}

const isCountEntry = (entry: FrozenEntry): entry is ReleasedEntry =>
  !('reason' in entry) && (!('suppressed' in entry) || entry.suppressed !== 'few-observations');

const isRatioEntry = (entry: FrozenEntry): entry is ReleasedRatioEntry =>
  typeof entry.value === 'number' || 'reason' in entry;

const isMedianEntry = (entry: FrozenEntry): entry is ReleasedEntry | FewObservationsEntry =>
  'suppressed' in entry ? entry.suppressed === 'few-observations' : typeof entry.value === 'number';

/** The figures of a kept period read as `kind`'s, or refused: another kind's release kept them. */
const entriesOf = <T extends FrozenEntry>(
  period: FrozenPeriod,
  key: string,
  kind: string,
  is: (entry: FrozenEntry) => entry is T,
): readonly T[] => {
  const own = period.entries.filter(is);
  if (own.length === period.entries.length) return own;
  throw new StoreError(
    `The register of releases keeps a period (key "${key}") with figures no ${kind} has. Lantern left it as ` +
      'it is; restore the read models from a backup, or release from read models of their own.',
  );
};

/** A kept period's figures as a count's. */
export const countEntriesOf = (period: FrozenPeriod, key: string): readonly ReleasedEntry[] =>
  entriesOf(period, key, 'count', isCountEntry);

/** A kept period's figures as a percentage's. */
export const ratioEntriesOf = (period: FrozenPeriod, key: string): readonly ReleasedRatioEntry[] =>
  entriesOf(period, key, 'percentage', isRatioEntry);

/** A kept period's figures as a median's: each a number of days, or hidden over too few. */
export const medianEntriesOf = (period: FrozenPeriod, key: string): readonly FrozenEntry[] =>
  entriesOf(period, key, 'median', isMedianEntry);

interface HeldPeriods {
  readonly held: Map<string, FrozenPeriod>;
  /** The keys the register holds. */
  readonly recorded: Set<string>;
}

/** Each kept period, by what it was released from (or adopted into from the register). */
const periodsOfData = new WeakMap<object, HeldPeriods>();

const heldOf = (data: object): HeldPeriods => {
  let held = periodsOfData.get(data);
  if (held === undefined) {
    held = { held: new Map(), recorded: new Set() };
    periodsOfData.set(data, held);
  }
  return held;
};

/** A period kept as it went out, if it was. */
export const frozenPeriodOf = (data: object, key: string): FrozenPeriod | undefined =>
  periodsOfData.get(data)?.held.get(key);

/**
 * Keeps a period as it went out, once the release that gave it went out (and, `recorded`, once
 * the register holds it). Kept once.
 */
export const keepPeriod = (data: object, key: string, period: FrozenPeriod, recorded: boolean): void => {
  const own = heldOf(data);
  if (!own.held.has(key)) own.held.set(key, period);
  if (recorded) own.recorded.add(key);
};

/**
 * Binds `data`'s later releases by the periods the register keeps, as it keeps them: what `data`
 * kept otherwise (a release whose record did not go through, or one made without the register)
 * gives way, as its figures never went out recorded.
 */
export const adoptPeriods = (data: object, register: ReadonlyMap<string, FrozenPeriod>): void => {
  const own = heldOf(data);
  own.held.clear();
  own.recorded.clear();
  for (const [key, period] of register) {
    own.held.set(key, period);
    own.recorded.add(key);
  }
};
