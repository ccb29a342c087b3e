import { DisclosureError, type ReadModelStore } from '@lantern/core';
import type { IndicatorProjection } from '../indicators/indicatorProjection.js';
import type { FrozenPeriod } from './frozenPeriods.js';
import type { IndicatorData } from './indicatorValues.js';
import { type ReleaseRegister, readReleaseRegister, writeClaims } from './releaseRegister.js';
import type { FrozenVintage } from './vintages.js';

/**
 * The case funnel and the indicators about cases count the same cases: the funnel's disclosed
 * cases are `cases-disclosed`, and those followed up within 7 days are among its followed up.
 * Each is protected in a table of its own, so the two may hide different figures, and a reader
 * given both could work a small count out. Outside the programme, from one read-model store,
 * one of them is released: the second is refused, whichever it is. A release meant for readers
 * who will never see the other may be made from read models of its own (another file or database,
 * whose register of releases does not hold the other).
 */

/** The events the funnel's stages are counted from: what its projection reads, consent aside. */
export const funnelEventTypes: readonly string[] = [
  'CaseDisclosed',
  'CaseFollowedUp',
  'CaseReferred',
  'ChildPlacedSafely',
  'CaseClosed',
  'CaseReopened',
];

/** The read-model store each loaded data was read from. */
const loadedFrom = new WeakMap<IndicatorData, ReadModelStore>();

/**
 * Notes the store `data` was loaded from: its register of releases binds, and records, every
 * release from `data` outside the programme (`releaseIndicator`, `claimCaseFigures`).
 */
export const noteLoadedFrom = (data: IndicatorData, readModels: ReadModelStore): void => {
  loadedFrom.set(data, readModels);
};

/** Stores the funnel was released from outside the programme. */
const funnelReleased = new WeakSet<ReadModelStore>();

/** Per store, the first indicator about cases released outside the programme from data read from it. */
const casesReleased = new WeakMap<ReadModelStore, string>();

/** Whether a count reads one of the funnel's events. */
const countsFunnelCases = (projection: IndicatorProjection, count: string): boolean =>
  projection.indicators
    .get(count)
    ?.indicator.definition.filter.eventTypes.some((type) => funnelEventTypes.includes(type)) === true;

const advice =
  'Outside the programme, release the case funnel or the indicators about cases, not both: not to a ' +
  'donor, and not one to a donor and the other to the public, which the donor reads too. A release meant ' +
  'for readers who will never see the other may be made from read models of its own (another file or ' +
  'database, whose register of releases does not hold the other).';

/**
 * Refuses a release outside the programme of an indicator about cases from data read from a store
 * the funnel was released from; else gives what to note once it is made. `counts` are the counts
 * whose figures the release gives, each protected by a table (medians and `protect: false`
 * indicators are not): a percentage's parts, or the indicator itself.
 */
export const claimCaseFigures = (
  projection: IndicatorProjection,
  data: IndicatorData,
  asked: string,
  counts: Iterable<string>,
): (() => void) => {
  const readModels = loadedFrom.get(data);
  if (readModels === undefined || ![...counts].some((count) => countsFunnelCases(projection, count))) {
    return () => undefined;
  }
  if (funnelReleased.has(readModels)) {
    throw new DisclosureError(
      `Indicator "${asked}" counts the cases the case funnel counts, and the funnel was ` +
        'released outside the programme from these read models; the two are protected apart, and side by ' +
        `side could give a small count away. ${advice}`,
    );
  }
  return () => {
    if (!casesReleased.has(readModels)) casesReleased.set(readModels, asked);
  };
};

/**
 * Refuses a release of the funnel outside the programme from a store that an indicator about
 * cases was released from; else gives what to note once it is made.
 */
export const claimFunnel = (readModels: ReadModelStore): (() => void) => {
  const released = casesReleased.get(readModels);
  if (released !== undefined) {
    throw new DisclosureError(
      `The case funnel counts the cases that indicator "${released}" counts, and that indicator was ` +
        'released outside the programme from these read models; the two are protected apart, and side by ' +
        `side could give a small count away. ${advice}`,
    );
  }
  return () => {
    funnelReleased.add(readModels);
  };
};

/** The register of releases' key of which went out from a store: the funnel, or an indicator about cases. */
export const funnelOrCasesClaim = 'funnel-or-cases';

/** The register's value for a store the funnel went out from. */
const funnelValue = 'funnel';

/** What went out from `readModels` in this process, as the register of releases keeps it. */
export const funnelOrCasesOf = (readModels: ReadModelStore): string | undefined => {
  if (funnelReleased.has(readModels)) return funnelValue;
  const cases = casesReleased.get(readModels);
  return cases === undefined ? undefined : `cases|${cases}`;
};

/** The store each loaded data was read from, if it was loaded with `loadIndicatorData`. */
export const storeOf = (data: IndicatorData): ReadModelStore | undefined => loadedFrom.get(data);

/**
 * Binds later releases from `readModels` by what the register says went out from it before: the
 * funnel, or an indicator about cases. A release of the other made in this process cannot be
 * reconciled with it, and is refused.
 */
export const adoptFunnelOrCases = (readModels: ReadModelStore, value: string | undefined): void => {
  if (value === undefined) return;
  const own = funnelOrCasesOf(readModels);
  const sameKind = (a: string, b: string) => (a === funnelValue) === (b === funnelValue);
  if (own !== undefined && !sameKind(own, value)) {
    throw new DisclosureError(
      'The case funnel and an indicator about cases both went outside the programme from these read models, ' +
        `one from this process and the other as the register of releases says. ${advice}`,
    );
  }
  if (value === funnelValue) funnelReleased.add(readModels);
  else if (!casesReleased.has(readModels)) casesReleased.set(readModels, value.slice('cases|'.length));
};

/**
 * The register of releases of `readModels`, read before the funnel goes outside the programme:
 * refused when it says an indicator about cases went out from them, or the funnel with another
 * threshold or finest period.
 */
export const readRegisterForFunnel = async (
  readModels: ReadModelStore,
  funnel: FunnelRelease,
): Promise<ReleaseRegister> => {
  const register = await readReleaseRegister(readModels);
  adoptFunnelOrCases(readModels, register.claims.get(funnelOrCasesClaim));
  const earlier = register.claims.get(funnelPolicyClaim(funnel.projection));
  if (earlier !== undefined && earlier !== funnelPolicyText(funnel)) {
    const [threshold, finestPeriod] = earlier.split('|');
    throw new DisclosureError(
      `The case funnel went outside the programme from these read models with threshold ${threshold} and periods by ` +
        `${finestPeriod} at the finest; with threshold ${funnel.threshold} and periods by ${funnel.finestPeriod} it ` +
        'would be protected apart, and the two releases side by side could give a small count away. Give every ' +
        'release of the funnel outside the programme the same threshold and finest period.',
    );
  }
  return register;
};

/** What a release of the funnel outside the programme is protected with: its threshold and finest period. */
export interface FunnelRelease {
  /** The funnel projection's name. */
  readonly projection: string;
  readonly threshold: number;
  readonly finestPeriod: string;
}

/** The register's key of the policy the funnel went out with (it has no areas), and its value. */
const funnelPolicyClaim = (projection: string) => `policy|${projection}|funnel`;
const funnelPolicyText = (funnel: FunnelRelease) => `${funnel.threshold}|${funnel.finestPeriod}`;

/**
 * Records in the register read as `register` that the funnel went out, with which threshold and
 * finest period, and the vintage it made, if any, before its figures are given back; false,
 * writing nothing, when another writer changed the register since (read it again, and make the
 * release again from what it holds).
 */
export const recordFunnel = async (
  readModels: ReadModelStore,
  register: ReleaseRegister,
  funnel: FunnelRelease,
  /** The vintage the release made, if any, by its table's key. */
  vintages: ReadonlyMap<string, FrozenVintage>,
  /** The periods whose medians it kept, and the medians of periods not ended it gave. */
  periods: ReadonlyMap<string, FrozenPeriod> = new Map(),
  medians: ReadonlyMap<string, string> = new Map(),
): Promise<boolean> => {
  const claims = new Map([
    ...medians,
    [funnelOrCasesClaim, funnelValue],
    [funnelPolicyClaim(funnel.projection), funnelPolicyText(funnel)],
  ]);
  const made = new Map([...vintages].map(([key, vintage]) => [key, [vintage]]));
  return writeClaims(readModels, register, claims, made, periods);
};
