import { isLeaseLostError, type ReadModelDocument, type ReadModelStore, StoreError } from '@lantern/core';
import type { RatioSuppressionReason } from '../disclosure/index.js';
import { releaseRegisterName } from '../engine/projection.js';
import type { FrozenPeriod } from './frozenPeriods.js';
import type { MonthCount } from './periodHierarchy.js';
import { type FrozenVintage, frozenVintage, protectionOf } from './vintages.js';

/**
 * The register of what went outside the programme from a read-model store, kept in that store:
 * which protection each indicator's figures went out with, which table each count's figures went
 * out from, and whether the case funnel or the indicators about cases went out. The guards that
 * read it refuse a release that would put the same figures out protected apart. Without it they
 * see only the releases made from the same loaded data (or store handle) in one process; with it,
 * a report made by another process, or from another handle on the same file, binds too.
 *
 * It also keeps the vintages each table went out in (see vintages.ts): the counts of the months
 * each release outside the programme first gave, from which every later release gives them again
 * as they went out; and the periods of counts of things counted once and of stocks kept as they
 * went out (frozenPeriods.ts).
 *
 * It is kept as the documents of a read model no engine runs, `release_register` (tables
 * `release_register__claims`, one document per claim, `release_register__vintages`, one per
 * vintage, and `release_register__periods`, one per period kept), so every store keeps it as it
 * keeps read models, and a commit of new claims fails when another writer got in first (its
 * checkpoint counts the register's writes). No projection may be named `release_register`.
 */

export { releaseRegisterName };

const claimsCollection = 'claims';
const vintagesCollection = 'vintages';
const periodsCollection = 'periods';
const collections = [claimsCollection, vintagesCollection, periodsCollection];

/**
 * A period kept as it went out (see frozenPeriods.ts), keyed
 * `frozen|<projection>|<table>|<policy>|<granularity>|<period>`: the breakdown it kept, and each
 * figure as `[its key's dimensions and categories, its value ("<5", or null when hidden
 * otherwise), why it is hidden or null]`, and for a percentage not given, why not as a fourth.
 */
type PeriodDocument = {
  readonly dimensions: readonly string[];
  readonly entries: readonly (
    | readonly [readonly (readonly [string, string])[], number | string | null, string | null]
    | readonly [readonly (readonly [string, string])[], null, string | null, string]
  )[];
  readonly claimedAt: string;
};

const periodDocumentOf = (period: FrozenPeriod, claimedAt: string): PeriodDocument => ({
  dimensions: period.dimensions,
  entries: period.entries.map((entry) =>
    'reason' in entry
      ? [Object.entries(entry.key), null, 'suppressed' in entry ? entry.suppressed : null, entry.reason]
      : [Object.entries(entry.key), entry.value, 'suppressed' in entry ? entry.suppressed : null],
  ),
  claimedAt,
});

/** Why a percentage is withheld: every `RatioSuppressionReason`. */
const ratioReasons: ReadonlySet<string> = new Set<RatioSuppressionReason>([
  'smallDenominator',
  'smallNumerator',
  'smallComplement',
]);

/** A kept period as its document gives it; refused, rather than used, when it does not read so. */
const periodOfDocument = (key: string, document: ReadModelDocument): FrozenPeriod => {
  const refuse = (): never => {
    throw new StoreError(
      `The register of releases holds a period (key "${key}") that does not read back as it was written. Lantern ` +
        'left it as it is; restore the read models from a backup, or release from read models of their own.',
    );
  };
  const { dimensions, entries } = document as Partial<PeriodDocument>;
  if (!isTextList(dimensions) || !Array.isArray(entries)) return refuse();
  return {
    dimensions,
    entries: entries.map((item) => {
      const [pairs, value, suppressed, reason] = Array.isArray(item) ? item : [];
      if (!Array.isArray(pairs) || !pairs.every((pair) => isTextList(pair) && pair.length === 2))
        return refuse();
      const entryKey = Object.fromEntries(pairs as [string, string][]);
      if (reason !== undefined) {
        // A percentage not given: nothing to divide by, or a count behind it small.
        if (value !== null) return refuse();
        if (suppressed === null && reason === 'noObservations') return { key: entryKey, value, reason };
        if (suppressed === 'primary' && typeof reason === 'string' && ratioReasons.has(reason)) {
          return { key: entryKey, value, suppressed, reason: reason as RatioSuppressionReason };
        }
        return refuse();
      }
      if (suppressed === null && typeof value === 'number') return { key: entryKey, value };
      if (suppressed === 'secondary' && value === null) return { key: entryKey, value, suppressed };
      if (suppressed === 'few-observations' && value === null) return { key: entryKey, value, suppressed };
      if (suppressed === 'primary' && typeof value === 'string' && /^<\d+$/.test(value)) {
        return { key: entryKey, value: value as `<${number}`, suppressed };
      }
      return refuse();
    }),
  };
};

/**
 * A vintage's document (key `<projection>|<table>|<policy>|<last month>`): its table's key, its
 * last month, its dimensions, its counts as `[month, the dimensions' values in order, count]`,
 * its digest, and when it went out.
 */
type VintageDocument = {
  readonly table: string;
  readonly last: string;
  readonly dimensions: readonly string[];
  readonly counts: readonly (readonly [string, readonly string[], number])[];
  readonly digest: string;
  /** A digest of the protection it went out with (see `FrozenVintage.protection`). */
  readonly protection?: string;
  readonly claimedAt: string;
};

const vintageDocumentOf = (table: string, vintage: FrozenVintage, claimedAt: string): VintageDocument => {
  const protection = protectionOf(vintage);
  return {
    table,
    last: vintage.last,
    dimensions: vintage.dimensions,
    counts: vintage.counts.map((count) => [
      count.month,
      vintage.dimensions.map((d) => count.dims[d] ?? ''),
      count.value,
    ]),
    digest: vintage.digest,
    ...(protection === undefined ? {} : { protection }),
    claimedAt,
  };
};

const isTextList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

/**
 * A vintage as its document gives it, checked against its digest: a vintage that reads otherwise
 * than it was written would be protected otherwise, and is refused rather than used.
 */
const vintageOfDocument = (key: string, document: ReadModelDocument): [string, FrozenVintage] => {
  const refuse = (): never => {
    throw new StoreError(
      `The register of releases holds a vintage (key "${key}") that does not read back as it was written. Lantern ` +
        'left it as it is; restore the read models from a backup, or release from read models of their own.',
    );
  };
  const { table, last, dimensions, counts, digest, protection } = document as Partial<VintageDocument>;
  if (
    typeof table !== 'string' ||
    typeof last !== 'string' ||
    !isTextList(dimensions) ||
    !Array.isArray(counts)
  ) {
    return refuse();
  }
  const read: MonthCount[] = counts.map((count) => {
    const [month, values, value] = Array.isArray(count) ? count : [];
    if (typeof month !== 'string' || !isTextList(values) || typeof value !== 'number') return refuse();
    return { month, dims: Object.fromEntries(dimensions.map((d, i) => [d, values[i] as string])), value };
  });
  const vintage = frozenVintage(last, dimensions, read);
  if (vintage.digest !== digest || (protection !== undefined && typeof protection !== 'string'))
    return refuse();
  return [table, protection === undefined ? vintage : { ...vintage, protection }];
};

/** A claim's document: its value, and when it was made. */
type ClaimDocument = {
  readonly value: string;
  readonly claimedAt: string;
};

/** The register as read: its claims by key, each table's vintages, and how many writes it has had. */
export interface ReleaseRegister {
  readonly claims: ReadonlyMap<string, string>;
  /** By the table's key (`<projection>|<table>|<policy>`), oldest first. */
  readonly vintages: ReadonlyMap<string, readonly FrozenVintage[]>;
  /** The periods kept as they went out, by key (see `PeriodDocument`). */
  readonly periods: ReadonlyMap<string, FrozenPeriod>;
  readonly writes: bigint;
}

/** The register last read from each store: read again only when its writes changed. */
const lastRead = new WeakMap<ReadModelStore, ReleaseRegister>();

/**
 * Reads the register of `readModels`, making its tables the first time. What was read before
 * from the same store is given again while the register's writes are the same.
 */
export const readReleaseRegister = async (readModels: ReadModelStore): Promise<ReleaseRegister> => {
  const known = lastRead.get(readModels);
  // Its tables are made once per store handle: a handle that read the register has them.
  if (known === undefined) await readModels.prepare(releaseRegisterName, collections);
  // The count of writes first: a write landing between the two reads then makes the next write
  // from this read fail and read again, rather than pass on claims it never saw.
  const checkpoint = await readModels.checkpoint(releaseRegisterName);
  const writes = checkpoint?.position ?? 0n;
  if (known !== undefined && known.writes === writes) return known;
  const [claimRows, vintageRows, periodRows] = await Promise.all([
    readModels.documents(releaseRegisterName, claimsCollection),
    readModels.documents(releaseRegisterName, vintagesCollection),
    readModels.documents(releaseRegisterName, periodsCollection),
  ]);
  const claims = new Map<string, string>();
  for (const row of claimRows) {
    const value = (row.document as Partial<ClaimDocument>).value;
    if (typeof value === 'string') claims.set(row.key, value);
  }
  const vintages = new Map<string, FrozenVintage[]>();
  for (const row of vintageRows) {
    const [table, vintage] = vintageOfDocument(row.key, row.document);
    const list = vintages.get(table);
    if (list) list.push(vintage);
    else vintages.set(table, [vintage]);
  }
  for (const list of vintages.values()) list.sort((a, b) => (a.last < b.last ? -1 : a.last > b.last ? 1 : 0));
  const periods = new Map(periodRows.map((row) => [row.key, periodOfDocument(row.key, row.document)]));
  const register = { claims, vintages, periods, writes };
  lastRead.set(readModels, register);
  return register;
};

/** How often a claim is tried again when another writer changed the register meanwhile. */
export const claimAttempts = 5;

/** The refusal when the register kept changing under a claim. */
export const registerBusy = (): StoreError =>
  new StoreError(
    `The register of releases in these read models kept changing while a release was recorded (${claimAttempts} ` +
      'tries): other processes are releasing from them. Try again.',
  );

/**
 * Adds claims, the vintages releases made (by their table's key) and the periods they kept, to
 * the register read as `register`; false, writing nothing, when another writer changed it since (read it again and
 * check again). A key already claimed keeps its value, and a vintage already kept stays as it is.
 */
export const writeClaims = async (
  readModels: ReadModelStore,
  register: ReleaseRegister,
  claims: ReadonlyMap<string, string>,
  vintages: ReadonlyMap<string, readonly FrozenVintage[]> = new Map(),
  periods: ReadonlyMap<string, FrozenPeriod> = new Map(),
): Promise<boolean> => {
  const claimedAt = new Date().toISOString();
  const changes: { collection: string; key: string; document: ReadModelDocument }[] = [...claims]
    .filter(([key]) => !register.claims.has(key))
    .map(([key, value]) => {
      const document: ClaimDocument = { value, claimedAt };
      return { collection: claimsCollection, key, document };
    });
  for (const [table, made] of vintages) {
    const kept = register.vintages.get(table) ?? [];
    for (const vintage of made) {
      if (kept.some((held) => held.last === vintage.last)) continue;
      changes.push({
        collection: vintagesCollection,
        key: `${table}|${vintage.last}`,
        document: vintageDocumentOf(table, vintage, claimedAt),
      });
    }
  }
  for (const [key, period] of periods) {
    if (register.periods.has(key)) continue;
    changes.push({ collection: periodsCollection, key, document: periodDocumentOf(period, claimedAt) });
  }
  if (changes.length === 0) return true;
  try {
    await readModels.commit([
      {
        projection: releaseRegisterName,
        version: 1,
        after: register.writes,
        position: register.writes + 1n,
        changes,
        deadLetters: [],
      },
    ]);
    return true;
  } catch (error) {
    if (isLeaseLostError(error)) return false;
    throw error;
  }
};
