import { createHash } from 'node:crypto';
import { DisclosureError } from '@lantern/core';
import type { PeriodGranularity } from '../disclosure/index.js';
import { createLocalDater } from '../indicators/dates.js';
import {
  type HierarchyShape,
  type MonthCount,
  type ProtectedHierarchy,
  protectHierarchy,
  type VintageTable,
} from './periodHierarchy.js';
import { previousMonth } from './periods.js';

/*
 * Figures that went outside the programme stay as they went out. The log grows after a release:
 * new months, and late records of months already released. Protected again over every month, a
 * table may hide other figures than it hid the first time, and a reader given both releases can
 * set them side by side: a quarter released with 5 cases in all and 0 girls in one province, then
 * again with 6 cases and the girls as "<5", gives the late case away as a girl of that province.
 *
 * So the months of a table (an indicator, or a percentage with its parts, protected with one
 * policy) go out in vintages. The first release outside the programme takes every month up to its
 * cut-off; a later one that reaches further takes the months after the last vintage, up to its
 * own. A vintage's counts are kept in the register of releases as they were when it went out, and
 * it is protected as a table of its own, from those counts, at every release: the same counts give
 * the same protection, so every figure it gave is given again as it was. Late records of its
 * months reach the programme's own figures, not those outside it. The vintages hold different
 * months, so what one gives tells nothing about another, and a period that spans two is released
 * as the sum of its parts only when every part was (`readVintages`).
 *
 * Only months that have ended go out: a cut-off is at most the end of the last month (quarter,
 * year, as the policy's finest period is) that has ended in the programme's time zone, so a month
 * still being recorded is not frozen half-counted. A release that names its last month says the
 * months to it are complete; one that does not ends its vintage at the last month anything was
 * recorded in, so months nothing was recorded in yet are not frozen empty.
 */

/** A vintage as the register of releases keeps it: the counts of its months when it went out. */
export interface FrozenVintage {
  /** Its last month, `YYYY-MM`: it holds the months after the vintage before it, up to this one. */
  readonly last: string;
  /** The table's dimensions when it went out. */
  readonly dimensions: readonly string[];
  readonly counts: readonly MonthCount[];
  /** A digest of `last`, `dimensions` and `counts`: the same vintage has the same digest. */
  readonly digest: string;
  /**
   * A digest of its protection as it went out (every figure shown or hidden): a later version of
   * Lantern that would protect its counts otherwise is refused rather than given them.
   */
  readonly protection?: string;
}

/** The vintages of one table released with one policy, and how many the register holds. */
interface TableVintages {
  vintages: FrozenVintage[];
  recorded: number;
}

/**
 * Each table's vintages, by what they were released from: the loaded data of the indicators, or
 * the read-model store of the case funnel (or adopted into it from the register).
 */
const vintagesOfData = new WeakMap<object, Map<string, TableVintages>>();

const tablesOf = (data: object): Map<string, TableVintages> => {
  let tables = vintagesOfData.get(data);
  if (!tables) {
    tables = new Map();
    vintagesOfData.set(data, tables);
  }
  return tables;
};

/** The register's key of a table's vintages: its projection, the table and the policy's text. */
export const vintagesKey = (projection: string, table: string, policy: string): string =>
  `${projection}|${table}|${policy}`;

/** The counts in a stable order: the digest, and the protection, do not depend on how they came. */
const sortedCounts = (counts: readonly MonthCount[], dimensions: readonly string[]): MonthCount[] => {
  const order = (count: MonthCount) =>
    JSON.stringify([count.month, ...dimensions.map((d) => count.dims[d] ?? null)]);
  return [...counts]
    .map((count) => ({ count, order: order(count) }))
    .sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0))
    .map(({ count }) => count);
};

/** A vintage of `counts`, in a stable order, with its digest. */
export const frozenVintage = (
  last: string,
  dimensions: readonly string[],
  counts: readonly MonthCount[],
): FrozenVintage => {
  const sorted = sortedCounts(counts, dimensions);
  const digest = createHash('sha256')
    .update(
      JSON.stringify([
        last,
        dimensions,
        sorted.map((c) => [c.month, dimensions.map((d) => c.dims[d] ?? null), c.value]),
      ]),
    )
    .digest('hex')
    .slice(0, 32);
  return { last, dimensions: [...dimensions], counts: sorted, digest };
};

const sameVintage = (a: FrozenVintage, b: FrozenVintage): boolean =>
  a.last === b.last && a.digest === b.digest;

/**
 * Binds `data`'s later releases by the vintages the register holds, as it holds them: what `data`
 * kept otherwise (a release whose record did not go through, or one made without the register)
 * gives way, as its figures never went out recorded. Vintages `data` recorded that the register
 * does not hold as they are cannot be reconciled, and that is refused.
 */
export const adoptVintages = (
  data: object,
  register: ReadonlyMap<string, readonly FrozenVintage[]>,
): void => {
  const tables = tablesOf(data);
  for (const [key, own] of tables) {
    const held = register.get(key) ?? [];
    const agrees = own.vintages
      .slice(0, own.recorded)
      .every((vintage, i) => held[i] !== undefined && sameVintage(vintage, held[i] as FrozenVintage));
    if (!agrees) {
      throw new DisclosureError(
        `The figures of "${key.split('|')[1]}" went outside the programme from this data otherwise than the register ` +
          'of releases says they went before, from these read models. Release them from data loaded anew.',
      );
    }
  }
  for (const [key, held] of register) tables.set(key, { vintages: [...held], recorded: held.length });
  for (const key of [...tables.keys()]) if (!register.has(key)) tables.delete(key);
};

/**
 * Keeps a vintage a release made as `data`'s, once the release went out (and, `recorded`, once
 * the register holds it), after the vintage it was made after. Kept once.
 */
export const keepVintage = (data: object, key: string, vintage: FrozenVintage, recorded: boolean): void => {
  const tables = tablesOf(data);
  const table = tables.get(key) ?? { vintages: [], recorded: 0 };
  tables.set(key, table);
  const last = table.vintages.at(-1);
  if (last !== undefined && last.last >= vintage.last) return;
  table.vintages.push(vintage);
  if (recorded) table.recorded = table.vintages.length;
};

/** The month a period of the policy's finest granularity ends in, at or before `month`. */
const endOfWhole = (month: string, finest: PeriodGranularity): string => {
  let end = month;
  const number = () => Number(end.slice(5, 7));
  if (finest === 'quarter') while (number() % 3 !== 0) end = previousMonth(end);
  if (finest === 'year') while (number() !== 12) end = previousMonth(end);
  return end;
};

/**
 * The last month a release outside the programme may take into a new vintage: the end of the
 * last month, quarter or year (the policy's finest period) that has ended in the programme's time
 * zone at `now`, and no later than `to` when the release asks to end there.
 */
export const cutOffOf = (
  finest: PeriodGranularity,
  timeZone: string,
  now: Date,
  to: string | undefined,
): string => {
  const today = createLocalDater(timeZone)(now.toISOString()) as string;
  const ended = endOfWhole(previousMonth(today.slice(0, 7)), finest);
  return to === undefined || to > ended ? ended : endOfWhole(to, finest);
};

/**
 * Whether a period (`2020-05`, `2020-Q2`, `2020`; never the life of the programme) has ended by
 * the cut-off a release outside the programme has now, and no later than the last month anything
 * was recorded in: such a period is kept as it goes out (frozenPeriods.ts).
 */
export const endedBy = (
  finest: PeriodGranularity,
  timeZone: string,
  lastRecorded: string | undefined,
): ((period: string) => boolean) => {
  const cutOff = cutOffOf(finest, timeZone, new Date(), undefined);
  const [reach] = [cutOff, lastRecorded ?? cutOff].sort() as [string];
  return (period) => {
    const quarter = /^(\d{4})-Q([1-4])$/.exec(period);
    const last = /^\d{4}$/.test(period)
      ? `${period}-12`
      : quarter
        ? `${quarter[1]}-${String(Number(quarter[2]) * 3).padStart(2, '0')}`
        : /^\d{4}-\d{2}$/.test(period)
          ? period
          : undefined;
    return last !== undefined && last <= reach;
  };
};

/**
 * The vintages of a table released outside the programme from `data`, with one more when the
 * cut-off, and the last month anything was recorded in, reach past the last: its months' counts
 * as they are now (`fresh`, to keep with `keepVintage` once the release it was made for goes
 * out). Refused when the table's dimensions changed since its figures first went out.
 */
export const vintagesFor = (
  data: object,
  key: string,
  what: string,
  dimensions: readonly string[],
  cutOff: string,
  /** The last month anything was recorded in, when known; else the last month counted. */
  lastRecorded: string | undefined,
  counts: () => readonly MonthCount[],
): { readonly vintages: readonly FrozenVintage[]; readonly fresh?: FrozenVintage } => {
  const held = vintagesOfData.get(data)?.get(key)?.vintages ?? [];
  const before = held.at(-1);
  if (before !== undefined && JSON.stringify(before.dimensions) !== JSON.stringify(dimensions)) {
    throw new DisclosureError(
      `${what} went outside the programme before by ${before.dimensions.join(', ') || 'no breakdown'}, and is now ` +
        `by ${dimensions.join(', ') || 'no breakdown'}: its definition changed, and protected anew its figures could ` +
        'give a small count away beside those given before. Release it to internal staff only, or, for readers who ' +
        'never had the others, from read models of its own.',
    );
  }
  const unchanged = { vintages: held };
  if (before !== undefined && (cutOff <= before.last || (lastRecorded ?? cutOff) <= before.last)) {
    return unchanged;
  }
  const now = counts();
  // Months after the last anything was recorded in are not taken: records of them, when they
  // come, go out with the vintage that first reaches them.
  const recorded =
    lastRecorded ??
    now
      .map((count) => count.month)
      .sort()
      .at(-1) ??
    '';
  const [last] = [recorded, cutOff].sort() as [string];
  if (last === '' || (before !== undefined && last <= before.last)) return unchanged;
  const after = before?.last;
  const fresh = frozenVintage(
    last,
    dimensions,
    now.filter((count) => count.month <= last && (after === undefined || count.month > after)),
  );
  return { vintages: [...held, fresh], fresh };
};

/** A digest of a protection: every entry's key and what it shows (its value, or why it is hidden). */
const protectionDigest = (table: ProtectedHierarchy | undefined): string => {
  if (table === undefined) return 'nothing counted';
  const entries = [...table.released.cells, ...table.released.margins].map((entry) => [
    Object.entries(entry.key).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    'suppressed' in entry ? entry.suppressed : entry.value,
  ]);
  return createHash('sha256')
    .update(JSON.stringify([table.levels, table.finest, table.dimensions, table.kept, entries]))
    .digest('hex')
    .slice(0, 32);
};

/** The digest of each vintage's protection as this process made it: what the register records. */
const protectionsMade = new WeakMap<FrozenVintage, string>();

/** The digest of a vintage's protection to record with it: as it went out, or as made here. */
export const protectionOf = (vintage: FrozenVintage): string | undefined =>
  vintage.protection ?? protectionsMade.get(vintage);

/**
 * Each vintage protected on its own, as `protectHierarchy` protects a table. A vintage whose
 * protection now differs from the one it went out with (disclosure control changed since) is
 * refused: given again, it would hide other figures than it did.
 */
export const protectVintages = (vintages: readonly FrozenVintage[], shape: HierarchyShape): VintageTable[] =>
  vintages.map((vintage) => {
    const table = protectHierarchy(vintage.counts, shape);
    const digest = protectionDigest(table);
    if (vintage.protection !== undefined && vintage.protection !== digest) {
      throw new DisclosureError(
        `${shape.what} went outside the programme up to ${vintage.last} with a protection this version of ` +
          'Lantern would not make again: given again, its figures would be hidden otherwise, and beside those ' +
          'given before could give a small count away. Release them with the version that first did, or, for ' +
          'readers who never had the others, from read models of their own.',
      );
    }
    protectionsMade.set(vintage, digest);
    return { last: vintage.last, table };
  });

/**
 * Notes the digest of each vintage's protection, as `tables` (their protections, in order) hold
 * it, for those the register does not hold one for yet: a protection kept from an earlier release
 * of the same vintages was made for other objects of them.
 */
export const noteProtections = (
  vintages: readonly FrozenVintage[],
  tables: readonly VintageTable[],
): void => {
  vintages.forEach((vintage, i) => {
    const made = tables[i];
    if (protectionOf(vintage) === undefined && made !== undefined) {
      protectionsMade.set(vintage, protectionDigest(made.table));
    }
  });
};

/** What tells one set of vintages from another, for the protections kept per data. */
export const vintagesIdentity = (vintages: readonly FrozenVintage[]): string =>
  vintages.map((vintage) => `${vintage.last}:${vintage.digest}`).join(',');
