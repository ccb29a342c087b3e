import { daysBetween, type ReadModelDocument, type ReadModelStore } from '@lantern/core';
import { defineProjection, type Projection } from '../engine/projection.js';
import { createLocalDater } from '../indicators/dates.js';
import { checkGranularity, type Granularity, parseMonthBound, periodOf } from './periods.js';

/**
 * The case funnel: how many cases disclosed in a period were then followed up, referred,
 * placed safely and closed, with the median days between one stage and the next. One document
 * per case holds the first date of each stage; reopening a case clears its closure.
 */

export const funnelStages = ['disclosed', 'followedUp', 'referred', 'placed', 'closed'] as const;
export type FunnelStage = (typeof funnelStages)[number];

export interface CaseDocument extends ReadModelDocument {
  readonly child: string;
  readonly sex: string;
  readonly ageBand: string;
  readonly area: string;
  readonly disclosed: string;
  readonly followedUp?: string;
  readonly referred?: string;
  readonly placed?: string;
  readonly closed?: string;
}

export const createCaseFunnelProjection = (options: { timeZone: string; name?: string }): Projection => {
  const dateOf = createLocalDater(options.timeZone);
  return defineProjection({
    name: options.name ?? 'case_funnel',
    version: 1,
    eventTypes: [
      'CaseDisclosed',
      'CaseFollowedUp',
      'CaseReferred',
      'ChildPlacedSafely',
      'CaseClosed',
      'CaseReopened',
      'ChildRegistered',
      'ConsentChanged',
    ],
    collections: ['cases', 'children'],
    apply: (event, view) => {
      const data = event.data as Record<string, unknown>;
      if (event.type === 'ChildRegistered' || event.type === 'ConsentChanged') {
        const consent = data.consent as { reporting?: unknown } | undefined;
        view.put('children', String(data.childRef), { reporting: consent?.reporting === true });
        return;
      }
      const caseId = String(data.caseId);
      const on = dateOf(
        event.type === 'CaseFollowedUp'
          ? data.followedUpOn
          : (event.metadata as { occurredAt: string }).occurredAt,
      );
      if (on === undefined) return;
      if (event.type === 'CaseDisclosed') {
        const document: CaseDocument = {
          child: String(data.childRef),
          sex: String(data.sex),
          ageBand: String(data.ageBand),
          area: String(data.area),
          disclosed: on,
        };
        view.put('cases', caseId, document);
        return;
      }
      const before = view.get('cases', caseId) as CaseDocument | undefined;
      if (!before) return;
      const stage: FunnelStage | undefined =
        event.type === 'CaseFollowedUp'
          ? 'followedUp'
          : event.type === 'CaseReferred'
            ? 'referred'
            : event.type === 'ChildPlacedSafely'
              ? 'placed'
              : event.type === 'CaseClosed'
                ? 'closed'
                : undefined;
      if (event.type === 'CaseReopened') {
        const { closed: _closed, ...open } = before;
        view.put('cases', caseId, open);
        return;
      }
      if (stage && before[stage] === undefined) view.put('cases', caseId, { ...before, [stage]: on });
    },
  });
};

export interface FunnelStep {
  readonly stage: FunnelStage;
  /** Cases that reached this stage. */
  readonly cases: number;
  /** Median days from the previous stage, over cases that reached both; null when none did. */
  readonly medianDaysFromPrevious: number | null;
  /** How many cases the median is taken over. */
  readonly medianOver: number;
}

export interface FunnelRow {
  readonly period: string;
  readonly steps: readonly FunnelStep[];
}

const median = (values: readonly number[]): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/**
 * The funnel of cases disclosed in each period (internal figures: apply disclosure control
 * before they leave the programme). Only children whose consent allows reporting are counted.
 */
export const caseFunnel = async (
  readModels: ReadModelStore,
  request: { period?: Granularity; from?: string; to?: string; projection?: string } = {},
): Promise<FunnelRow[]> => {
  const granularity = checkGranularity(request.period ?? 'life');
  const from = request.from === undefined ? undefined : parseMonthBound(request.from, 'from');
  const to = request.to === undefined ? undefined : parseMonthBound(request.to, 'to');
  const projection = request.projection ?? 'case_funnel';
  const children = await readModels.documents(projection, 'children');
  const reportable = new Set(children.filter((c) => c.document.reporting === true).map((c) => c.key));
  const cases = (await readModels.documents(projection, 'cases'))
    .map((row) => row.document as unknown as CaseDocument)
    .filter((c) => reportable.has(c.child))
    .filter(
      (c) =>
        (from === undefined || c.disclosed.slice(0, 7) >= from) &&
        (to === undefined || c.disclosed.slice(0, 7) <= to),
    );
  const months = cases.map((c) => c.disclosed.slice(0, 7)).sort();
  const first = from ?? months[0] ?? '';
  const last = to ?? months.at(-1) ?? '';
  const byPeriod = new Map<string, CaseDocument[]>();
  for (const c of cases) {
    const label = periodOf(c.disclosed.slice(0, 7), granularity, first, last).label;
    byPeriod.set(label, [...(byPeriod.get(label) ?? []), c]);
  }
  return [...byPeriod.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([period, group]) => ({
      period,
      steps: funnelStages.map((stage, i) => {
        const previous = i > 0 ? funnelStages[i - 1] : undefined;
        const reached = group.filter((c) => c[stage] !== undefined);
        const gaps = previous
          ? reached
              .filter((c) => c[previous] !== undefined)
              .map((c) => daysBetween(c[previous] as string, c[stage] as string))
          : [];
        return {
          stage,
          cases: reached.length,
          medianDaysFromPrevious: previous ? median(gaps) : null,
          medianOver: gaps.length,
        };
      }),
    }));
};
