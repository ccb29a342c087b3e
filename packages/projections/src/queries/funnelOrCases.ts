import { DisclosureError, type ReadModelStore } from '@lantern/core';
import type { IndicatorProjection } from '../indicators/indicatorProjection.js';
import type { IndicatorData } from './indicatorValues.js';

/**
 * The case funnel and the indicators about cases count the same cases: the funnel's disclosed
 * cases are `cases-disclosed`, and those followed up within 7 days are among its followed up.
 * Each is protected in a table of its own, so the two may hide different figures, and a reader
 * given both could work a small count out. Outside the programme, from one read-model store,
 * one of them is released: the second is refused, whichever it is. A release meant for readers
 * who will never see the other may be made from a read-model store opened anew.
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

/** Notes the store `data` was loaded from, for `claimCaseFigures`. */
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
  'for readers who will never see the other may be made from a read-model store opened anew.';

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
