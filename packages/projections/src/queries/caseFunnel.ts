import {
  type Audience,
  auditExport,
  DisclosureError,
  daysBetween,
  type ExportAudit,
  type Principal,
  type ReadModelDocument,
  type ReadModelStore,
} from '@lantern/core';
import {
  type DisclosurePolicy,
  type PeriodGranularity,
  protectMedian,
  resolvePolicy,
} from '../disclosure/index.js';
import { defineProjection, type Projection } from '../engine/projection.js';
import { createLocalDater } from '../indicators/dates.js';
import {
  consentEventTypes,
  isConsentEvent,
  keepReportingConsent,
  reportableChildren,
} from '../indicators/reportingConsent.js';
import type { FrozenEntry, FrozenPeriod } from './frozenPeriods.js';
import {
  claimFunnel,
  type FunnelRelease,
  funnelEventTypes,
  readRegisterForFunnel,
  recordFunnel,
} from './funnelOrCases.js';
import { medianOf } from './median.js';
import { checkHierarchyRequest, readVintages, type VintageTable } from './periodHierarchy.js';
import { checkGranularity, type Granularity, parseMonthRange, periodOf } from './periods.js';
import type { ReleasedValue } from './releaseIndicator.js';
import { claimAttempts, type ReleaseRegister, registerBusy } from './releaseRegister.js';
import { releasedBy, requireFiguresFor } from './requireFiguresFor.js';
import {
  adoptVintages,
  cutOffOf,
  endedBy,
  type FrozenVintage,
  keepVintage,
  noteProtections,
  protectVintages,
  vintagesFor,
  vintagesIdentity,
  vintagesKey,
} from './vintages.js';

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
    eventTypes: [...funnelEventTypes, ...consentEventTypes],
    collections: ['cases', 'children'],
    apply: (event, view) => {
      const data = event.data as Record<string, unknown>;
      if (isConsentEvent(event)) {
        keepReportingConsent(event, view);
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

export interface CaseFunnelRequest {
  /**
   * Who asks, checked before any work. `caseFunnel` gives internal figures, to the programme's
   * staff only; a donor or a service is refused and pointed to `releaseCaseFunnel`. Required.
   */
  principal: Principal;
  /** Default `life`. */
  period?: Granularity;
  /** First month of disclosure counted, `YYYY-MM` (or a date in it). */
  from?: string;
  /** Last month of disclosure counted, `YYYY-MM` (or a date in it). */
  to?: string;
  /** The case funnel projection's name. Default `case_funnel`. */
  projection?: string;
}

/**
 * The funnel of cases disclosed in each period: internal figures, for the programme's staff (use
 * `releaseCaseFunnel` for anyone else). Only children whose consent allows reporting are counted.
 */
export const caseFunnel = async (
  readModels: ReadModelStore,
  request: CaseFunnelRequest,
): Promise<FunnelRow[]> => {
  requireFiguresFor(request?.principal, {
    query: 'caseFunnel',
    audience: 'internal',
    instead: releasedBy('caseFunnel', 'releaseCaseFunnel'),
  });
  return funnelRows(readModels, request);
};

/** Every case whose child may be reported. */
const reportableCases = async (
  readModels: ReadModelStore,
  request: Pick<CaseFunnelRequest, 'projection'>,
): Promise<CaseDocument[]> => {
  const projection = request.projection ?? 'case_funnel';
  const reportable = await reportableChildren(readModels, projection);
  return (await readModels.documents(projection, 'cases'))
    .map((row) => row.document as unknown as CaseDocument)
    .filter((c) => reportable.has(c.child));
};

/** The internal funnel, unchecked: for `releaseCaseFunnel`, which checks its own principal. */
const funnelRows = async (
  readModels: ReadModelStore,
  request: Omit<CaseFunnelRequest, 'principal'>,
): Promise<FunnelRow[]> => {
  const asked = funnelAsked(request);
  return rowsOf(await reportableCases(readModels, request), asked);
};

/** A funnel request's period and months, checked before anything is read. */
const funnelAsked = (request: Omit<CaseFunnelRequest, 'principal'>) => ({
  granularity: checkGranularity(request.period ?? 'life'),
  ...parseMonthRange(request),
});

/** The funnel of the cases disclosed in the months asked for, by period. */
const rowsOf = (
  reportable: readonly CaseDocument[],
  { granularity, from, to }: ReturnType<typeof funnelAsked>,
): FunnelRow[] => {
  const cases = reportable.filter(
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
          medianDaysFromPrevious: previous ? medianOf(gaps) : null,
          medianOver: gaps.length,
        };
      }),
    }));
};

export interface ReleasedFunnelStep {
  readonly stage: FunnelStage;
  readonly cases: ReleasedValue;
  readonly medianDaysFromPrevious: ReleasedValue | null;
}

export interface ReleasedFunnelRow {
  /** A period label, or `total` for every period together. */
  readonly period: string;
  readonly steps: readonly ReleasedFunnelStep[];
}

export interface CaseFunnelReleaseRequest {
  audience: Audience;
  /** Who asks: checked against the audience before any work. Required. */
  principal: Principal;
  policy?: Partial<DisclosurePolicy>;
  period?: Granularity;
  from?: string;
  to?: string;
  projection?: string;
  /**
   * Audits the release: to an audience other than `internal` it is an export; a refusal is
   * recorded too. Needs `principal`. Default: not audited.
   */
  audit?: ExportAudit;
}

/**
 * The case funnel for an audience. Its stages go through disclosure control as one table of the
 * whole period hierarchy, whatever period or range is asked for: a small count of placements
 * cannot be worked back from the total, the other periods, the same stage released by another
 * period, nor a small number of cases not followed up from the cases disclosed and those followed
 * up. Medians are released only over enough cases.
 */
export const releaseCaseFunnel = (
  readModels: ReadModelStore,
  request: CaseFunnelReleaseRequest,
): Promise<ReleasedFunnelRow[]> =>
  auditExport(request, 'case-funnel', () => releaseFunnel(readModels, request));

/** The stages after disclosure: the dimensions of the funnel's protection. */
const laterStages = funnelStages.slice(1);

/** The reportable cases as read at a checkpoint of the funnel: the projection's version and position. */
interface CasesAt {
  readonly at: string;
  readonly cases: CaseDocument[];
}

/**
 * Each read-model store's reportable cases, by funnel projection, kept while its checkpoint stays
 * where it was when they were read (a commit moves it); and the protections made of them, by the
 * vintages they were made from. Releases by month, quarter, year and life, to a donor and to the
 * public, read one protection: made again for each, it cost 0.3–0.8 s at 500,000 events. The
 * funnel has no areas, so audiences whose policies differ only in their areas get the same one.
 */
const casesRead = new WeakMap<ReadModelStore, Map<string, CasesAt>>();
const funnelProtections = new WeakMap<ReadModelStore, Map<string, VintageTable[]>>();

const checkpointOf = async (readModels: ReadModelStore, projection: string): Promise<string | undefined> => {
  const checkpoint = await readModels.checkpoint(projection);
  return checkpoint === undefined ? undefined : `${checkpoint.version}@${checkpoint.position}`;
};

/** The reportable cases of the funnel, read once per checkpoint. */
const casesOfFunnel = async (readModels: ReadModelStore, projection: string): Promise<CaseDocument[]> => {
  const before = await checkpointOf(readModels, projection);
  const kept = casesRead.get(readModels)?.get(projection);
  if (kept !== undefined && before !== undefined && kept.at === before) return kept.cases;
  const cases = await reportableCases(readModels, { projection });
  // Kept only when no commit landed while the cases were read.
  if (before !== undefined && (await checkpointOf(readModels, projection)) === before) {
    let byProjection = casesRead.get(readModels);
    if (byProjection === undefined) {
      byProjection = new Map();
      casesRead.set(readModels, byProjection);
    }
    byProjection.set(projection, { at: before, cases });
  }
  return cases;
};

/**
 * The time zone a month of the funnel has ended in for its cut-off (see vintages.ts): the release
 * does not know the programme's, so a month goes out once it has ended everywhere.
 */
const latestZone = 'Etc/GMT+12';

/**
 * The funnel's protection outside the programme, in vintages (see vintages.ts): one table of the
 * whole period hierarchy for the months of each, counting its cases by which later stages each
 * reached, as they had when the vintage went out, and showing each stage's count and what it
 * leaves out of the cases disclosed (cases not followed up, say), since with the disclosed cases
 * and the followed-up ones both released, their difference is known. A case that moves on to
 * another stage after its month went out is counted as it was there, as a late case is: donors
 * read a month's funnel as it first went out, the programme's staff as it is. `made` holds the
 * new vintage, if any, to record with the release and keep once recorded.
 */
const protectedFunnelOf = (
  readModels: ReadModelStore,
  funnel: FunnelRelease,
  cases: readonly CaseDocument[],
  audience: Exclude<Audience, 'internal'>,
  policy: DisclosurePolicy,
  to: string | undefined,
): { readonly tables: VintageTable[]; readonly made: ReadonlyMap<string, FrozenVintage> } => {
  const key = vintagesKey(funnel.projection, 'funnel', `${funnel.threshold}|${funnel.finestPeriod}`);
  const cutOff = cutOffOf(policy.finestPeriod, latestZone, new Date(), to);
  const { vintages, fresh } = vintagesFor(
    readModels,
    key,
    'The case funnel',
    laterStages,
    cutOff,
    // With a last month named, the months to it are complete; without one, the funnel's months
    // end at the last a case was disclosed in.
    to === undefined ? undefined : cutOff,
    () => {
      // The cases counted by month and the stages they reached: what a vintage keeps.
      const counts = new Map<string, { month: string; dims: Record<string, string>; value: number }>();
      for (const c of cases) {
        const month = c.disclosed.slice(0, 7);
        const dims = Object.fromEntries(
          laterStages.map((stage) => [stage, c[stage] === undefined ? 'no' : 'yes']),
        );
        const id = JSON.stringify([month, ...laterStages.map((stage) => dims[stage])]);
        const known = counts.get(id);
        if (known) known.value += 1;
        else counts.set(id, { month, dims, value: 1 });
      }
      return [...counts.values()];
    },
  );
  const identity = `${key}|${vintagesIdentity(vintages)}`;
  let made = funnelProtections.get(readModels);
  if (made === undefined) {
    made = new Map();
    funnelProtections.set(readModels, made);
  }
  let tables = made.get(identity);
  if (tables === undefined) {
    tables = protectVintages(vintages, {
      audience,
      policy,
      dimensions: [],
      kept: laterStages,
      what: 'The case funnel',
      // A stage's count and the cases it leaves out; not the cases that reached two stages.
      shown: (stageKey) => laterStages.filter((stage) => stageKey[stage] !== undefined).length <= 1,
    });
    made.set(identity, tables);
  }
  noteProtections(vintages, tables);
  return { tables, made: new Map(fresh === undefined ? [] : [[key, fresh]]) };
};

/**
 * The funnel's medians outside the programme, bound as an indicator's are (see `releaseMedians` in
 * releaseIndicator.ts): a period that has ended goes out as it first went out, its medians kept in
 * the register of releases; a median shown for a period that had not ended (the life of the
 * programme) binds every later release of it. What a release adds is gathered in `periods` and
 * `claims`, to be recorded with it.
 */
interface FunnelMedians {
  readonly register: ReleaseRegister;
  /** The register's key of a period's medians. */
  readonly key: (period: string) => string;
  /** The register's claim of a stage's median in a period that had not ended. */
  readonly claim: (period: string, stage: FunnelStage) => string;
  readonly ended: (period: string) => boolean;
  /** Each period's medians as they go out now, by period. */
  readonly now: Map<string, FrozenEntry[]>;
  readonly periods: Map<string, FrozenPeriod>;
  readonly claims: Map<string, string>;
}

const funnelMediansOf = (
  register: ReleaseRegister,
  funnel: FunnelRelease,
  /** The policy's finest period: the funnel's is its text. */
  finest: PeriodGranularity,
  granularity: Granularity,
  cases: readonly CaseDocument[],
  to: string | undefined,
): FunnelMedians => {
  const table = `${funnel.projection}|funnel-medians|${funnel.threshold}|${funnel.finestPeriod}|${granularity}`;
  // A release that names its last month says the months to it are complete; without one, the
  // funnel's months end at the last a case was disclosed in.
  const lastDisclosed = cases.reduce<string | undefined>((last, c) => {
    const month = c.disclosed.slice(0, 7);
    return last === undefined || month > last ? month : last;
  }, undefined);
  return {
    register,
    key: (period) => `frozen|${table}|${period}`,
    claim: (period, stage) => `period|${table}|${period}|${stage}`,
    ended: endedBy(finest, latestZone, to === undefined ? lastDisclosed : undefined),
    now: new Map(),
    periods: new Map(),
    claims: new Map(),
  };
};

/** A stage's median in a period as it goes out: see `FunnelMedians`. */
const boundMedian = (
  bound: FunnelMedians | undefined,
  period: string,
  stage: FunnelStage,
  now: ReleasedValue,
): ReleasedValue => {
  if (bound === undefined) return now;
  const kept = bound.register.periods.get(bound.key(period));
  if (kept !== undefined) {
    // Kept with every stage; one missing is hidden rather than given anew.
    const entry = kept.entries.find((held) => held.key.stage === stage);
    if (entry === undefined || typeof entry.value !== 'number')
      return { value: null, suppressed: 'few-observations' };
    return { value: entry.value };
  }
  const key = { period, stage };
  const entries = bound.now.get(period) ?? [];
  bound.now.set(period, entries);
  const shown = 'suppressed' in now ? undefined : now.value;
  entries.push(
    shown === undefined ? { key, value: null, suppressed: 'few-observations' } : { key, value: shown },
  );
  // A median shown before its period ended binds, ended now or not (one ended is kept from now
  // on): moved, or hidden now over too few (a case withdrawn since), it is refused. The message
  // names neither figure. One hidden binds nothing: it gave nothing away.
  const claim = bound.claim(period, stage);
  const before = bound.register.claims.get(claim);
  if (before !== undefined && before !== String(shown)) {
    throw new DisclosureError(
      `The case funnel's median days to "${stage}" for ${period} went outside the programme before, and has ` +
        'changed since: beside what went out, it could tell how long a case recorded since took, or that a ' +
        "child's consent was withdrawn. Medians of a period go out once it has ended as they first went out; " +
        'ask for periods that have ended, or give these to internal staff.',
    );
  }
  if (!bound.ended(period) && shown !== undefined) bound.claims.set(claim, String(shown));
  return now;
};

/** Keeps the medians of each period released that has ended and was not kept before. */
const keepEnded = (bound: FunnelMedians, periods: readonly string[]): void => {
  for (const period of periods) {
    const entries = bound.now.get(period);
    if (entries === undefined || !bound.ended(period)) continue;
    bound.periods.set(bound.key(period), { dimensions: ['stage'], entries });
  }
};

const releaseFunnel = async (
  readModels: ReadModelStore,
  request: CaseFunnelReleaseRequest,
): Promise<ReleasedFunnelRow[]> => {
  requireFiguresFor(request.principal, { query: 'releaseCaseFunnel', audience: request.audience });
  const policy = resolvePolicy(request.audience, request.policy);
  const { audience, principal: _principal, policy: _policy, audit: _audit, ...query } = request;
  const asked = funnelAsked(query);
  const { granularity } = asked;
  // Every stage from one protection of the whole period hierarchy, whatever period or range is
  // asked for (`protectedFunnelOf`).
  const outside =
    audience === 'internal'
      ? undefined
      : {
          audience,
          policy,
          by: [] as string[],
          what: 'The case funnel',
          ...(asked.from === undefined ? {} : { from: asked.from }),
          ...(asked.to === undefined ? {} : { to: asked.to }),
        };
  if (outside !== undefined) checkHierarchyRequest(granularity, outside);
  /**
   * The funnel's rows as the audience may see them, its counts read from `tables` outside the
   * programme, and its medians bound by what went out before (`bound`, see `FunnelMedians`).
   */
  const figuresFrom = (
    cases: readonly CaseDocument[],
    tables: readonly VintageTable[] | undefined,
    bound?: FunnelMedians,
  ) => {
    const stageTables = funnelStages.map((stage, i) =>
      tables === undefined || outside === undefined
        ? undefined
        : readVintages(tables, granularity, {
            ...outside,
            by: i === 0 ? [] : [stage],
            what: `The case funnel's "${stage}" stage`,
          }).filter(({ entry }) => i === 0 || entry.key[stage] === 'yes'),
    );
    // Outside the programme, the periods the vintages hold, as they hold them, whatever cases there
    // are now: a period's row neither goes when its cases' consent is withdrawn nor comes when a
    // case of it is recorded late. One after the last vintage is not given yet.
    const disclosedIn = stageTables[0];
    const current = new Map(rowsOf([...cases], asked).map((row) => [row.period, row]));
    const periods =
      disclosedIn === undefined
        ? [...current.keys()]
        : [...new Set(disclosedIn.map((entry) => entry.period))]
            .filter((period) => period !== 'total')
            .sort();
    const rows = periods.map((period) => ({ period, steps: current.get(period)?.steps ?? [] }));
    const released = new Map<string, ReleasedFunnelStep[]>(periods.map((p) => [p, []]));
    const totals: ReleasedFunnelStep[] = [];
    funnelStages.forEach((stage, i) => {
      /** The stage's count by period (and `total`) as released. */
      const table = stageTables[i];
      const releasedOf = (entry: {
        value: number | string | null;
        suppressed?: 'primary' | 'secondary' | 'partly-hidden';
      }): ReleasedValue =>
        entry.suppressed
          ? { value: entry.value as string | null, suppressed: entry.suppressed }
          : { value: entry.value as number };
      const casesOf = (period: string, exact: number): ReleasedValue => {
        if (table === undefined) return { value: exact };
        const found = table.find((entry) => entry.period === period);
        return found ? releasedOf(found.entry) : { value: 0 };
      };
      for (const row of rows) {
        const step = row.steps[i];
        // A period with no cases now has a median over none: hidden, and refused where one went out.
        const median =
          i === 0
            ? null
            : protectMedian(
                { median: step?.medianDaysFromPrevious ?? 0, count: step?.medianOver ?? 0 },
                audience,
                policy,
              );
        released.get(row.period)?.push({
          stage,
          cases: casesOf(row.period, step?.cases ?? 0),
          medianDaysFromPrevious:
            median === null
              ? null
              : boundMedian(
                  bound,
                  row.period,
                  stage,
                  median.value === null
                    ? { value: null, suppressed: 'few-observations' }
                    : { value: median.value },
                ),
        });
      }
      const exactTotal = rows.reduce((sum, row) => sum + (row.steps[i]?.cases ?? 0), 0);
      totals.push({ stage, cases: casesOf('total', exactTotal), medianDaysFromPrevious: null });
    });
    if (bound !== undefined) keepEnded(bound, periods);
    return [
      ...periods.map((period) => ({ period, steps: released.get(period) ?? [] })),
      { period: 'total', steps: totals },
    ];
  };
  if (outside === undefined) return figuresFrom(await reportableCases(readModels, query), undefined);

  // Bound by what the register of releases in these read models says went out before, from any
  // process, and recorded there, with any new vintage, before the figures are given back.
  const funnel = {
    projection: query.projection ?? 'case_funnel',
    threshold: policy.threshold,
    finestPeriod: policy.finestPeriod,
  };
  for (let attempt = 1; attempt <= claimAttempts; attempt += 1) {
    const register = await readRegisterForFunnel(readModels, funnel);
    adoptVintages(readModels, register.vintages);
    const claim = claimFunnel(readModels);
    const cases = await casesOfFunnel(readModels, funnel.projection);
    const { tables, made } = protectedFunnelOf(readModels, funnel, cases, outside.audience, policy, asked.to);
    const bound = funnelMediansOf(register, funnel, policy.finestPeriod, granularity, cases, asked.to);
    const figures = figuresFrom(cases, tables, bound);
    // Only a funnel that went out binds later releases: a refused one gave nothing away.
    claim();
    if (await recordFunnel(readModels, register, funnel, made, bound.periods, bound.claims)) {
      // The vintage it made is the store's once the register holds it, and not before.
      for (const [key, vintage] of made) keepVintage(readModels, key, vintage, true);
      return figures;
    }
    // Another writer recorded a release meanwhile: what it recorded may refuse this one, or hold
    // the vintage this one would have made.
  }
  throw registerBusy();
};
