import type { ReleasedEntry } from '../disclosure/index.js';

/*
 * A count of things counted once, or a stock, goes outside the programme period by period, each
 * period's table protected on its own. Once a period has ended and gone out, its figures are kept
 * in the register of releases as they went out, and given again as they went out ever after:
 * records of it made since reach the programme's own figures, not those outside it, and two
 * releases of it cannot be set side by side. A period that had not ended when it went out (the
 * current quarter, the life of the programme) is not kept: a later release of it whose figures
 * changed is refused (see `claimPeriods` in releaseIndicator.ts).
 */

/** A period's table as it went out: the breakdown it kept and every figure of it, totals too. */
export interface FrozenPeriod {
  readonly dimensions: readonly string[];
  readonly entries: readonly ReleasedEntry[];
}

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

/** Keeps a period as it went out, from a release of `data` that went out. */
export const keepPeriod = (data: object, key: string, period: FrozenPeriod): void => {
  const { held } = heldOf(data);
  if (!held.has(key)) held.set(key, period);
};

/**
 * Binds `data`'s later releases by the periods the register keeps. One `data` kept from a release
 * whose record did not go through gives way to the register's: its figures were never given.
 */
export const adoptPeriods = (data: object, register: ReadonlyMap<string, FrozenPeriod>): void => {
  const { held, recorded } = heldOf(data);
  for (const [key, period] of register) {
    held.set(key, period);
    recorded.add(key);
  }
};

/** The periods `data` kept that the register does not hold yet. */
export const periodsToRecord = (data: object): Map<string, FrozenPeriod> => {
  const found = new Map<string, FrozenPeriod>();
  const own = periodsOfData.get(data);
  for (const [key, period] of own?.held ?? []) if (!own?.recorded.has(key)) found.set(key, period);
  return found;
};

/** Notes that the register now holds every period `data` kept. */
export const periodsRecorded = (data: object): void => {
  const own = periodsOfData.get(data);
  for (const key of own?.held.keys() ?? []) own?.recorded.add(key);
};
