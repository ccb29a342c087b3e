import { createHash } from 'node:crypto';
import { keepableTextOf, type ReadModelDocument, type RecordedEvent } from '@lantern/core';
import { defineProjection, type Projection, type ProjectionView } from '../engine/projection.js';
import {
  type CompiledFlow,
  type CompiledIndicator,
  type CompiledKeyed,
  type CompileOptions,
  compileIndicators,
  eventTypesOf,
  type Indicator,
  isFlow,
  isKeyed,
} from './compileIndicator.js';
import { createLocalDater } from './dates.js';
import { type FieldSource, sourceOf } from './fields.js';
import { keepReportingConsent } from './reportingConsent.js';

/**
 * The indicators projection: one fold that evaluates every indicator definition and keeps, per
 * indicator, observations at the finest grain a query needs — a month, a combination of
 * dimension values and, for indicators about children, the child — so that any period (month,
 * quarter, year, life of programme) and any breakdown is summed at query time, and consent is
 * applied at query time too. It also keeps targets (TargetSet, TargetRevised), each child's
 * reporting consent (ChildRegistered, ConsentChanged) and which child each case is about.
 */

/** Collections of the indicators projection. */
export const indicatorCollections = ['observations', 'targets', 'children', 'cases'] as const;

/** Code version of this fold; the projection's version also changes whenever the definitions do. */
const foldVersion = 3;

/** A month, a dimension combination and a child, for a count, sum or distinct indicator. */
export interface FlowObservation extends ReadModelDocument {
  readonly indicator: string;
  /** `YYYY-MM`, in the programme's time zone. */
  readonly month: string;
  readonly dims: Readonly<Record<string, string>>;
  /** The child it is about ('' when unknown); absent for indicators not about children. */
  readonly child?: string;
  /** For distinct: the value counted once per period. */
  readonly ref?: string;
  readonly value: number;
}

/** One key (a case, a child, a club) of a keyed indicator: its dates and values. */
export interface KeyedObservation extends ReadModelDocument {
  readonly indicator: string;
  readonly key: string;
  readonly dims: Readonly<Record<string, string>>;
  readonly child?: string;
  /** The first `from` (or `opens`) event's date. */
  readonly from: string;
  /** The first `to` event's date on or after `from` (medianDays, linked). */
  readonly to?: string;
  /** change: the first `from` value, and the latest `to` date and value. */
  readonly first?: number;
  readonly latest?: { readonly date: string; readonly value: number };
  /** active: when it was closed last, if it is closed. */
  readonly closed?: string;
}

export interface TargetDocument extends ReadModelDocument {
  readonly indicator: string;
  readonly periodStart: string;
  readonly periodEnd: string;
  readonly value: number;
  readonly baseline?: number;
  /** ISO time of the TargetSet or TargetRevised that set it. */
  readonly setAt: string;
}

export interface IndicatorProjectionOptions extends CompileOptions {
  indicators: readonly Indicator[];
  /** The programme's IANA time zone: it decides which day, month and year an event falls in. */
  timeZone: string;
  /** Default `indicators`. */
  name?: string;
}

const unknownValue = 'unknown';

/**
 * A field's value as text for a key or a dimension. A text holding U+0000 or half of a surrogate
 * pair, which no store keeps, has it replaced with U+FFFD: a key the stores would refuse would
 * stop the projection at that event.
 */
const text = (value: unknown): string =>
  typeof value === 'string'
    ? keepableTextOf(value)
    : typeof value === 'number' || typeof value === 'boolean'
      ? String(value)
      : unknownValue;

/** A stable 6-digit fingerprint of the definitions, folded into the projection's version. */
const fingerprint = (indicators: readonly Indicator[], timeZone: string): number => {
  const digest = createHash('sha256')
    .update(JSON.stringify({ timeZone, definitions: indicators.map((i) => [i.id, i.definition]) }))
    .digest();
  return digest.readUInt32BE(0) % 1_000_000;
};

/** Whether a field path reads the unnested element rather than the event. */
const readsItem = (path: string | undefined): boolean =>
  path !== undefined && (path === 'item' || path.startsWith('item.'));

/** How a flow indicator's observations are found: see `planFlow`. */
interface FlowPlan {
  readonly indicator: CompiledFlow;
  /** `f|<indicator id>|`: every key of the indicator starts with it. */
  readonly prefix: string;
  /** The dimensions, each path once, in the order the definition names them. */
  readonly dimensions: CompiledFlow['dimensions'];
  /** Whether the date, a dimension or the child is read from the element (else from the event). */
  readonly itemDate: boolean;
  readonly itemDims: boolean;
  readonly itemChild: boolean;
  /** A distinct indicator counting the very child it is about: the ref is the child, keyed once. */
  readonly refIsChild: boolean;
}

/**
 * The start of every key of an indicator's observations: `f|<id>|` for a flow indicator (count,
 * sum, distinct), `k|<id>|` for a keyed one. A query reads one indicator's observations by it.
 */
export const observationKeyPrefix = (indicator: CompiledFlow | CompiledKeyed): string =>
  `${isFlow(indicator) ? 'f' : 'k'}|${indicator.indicator.id}|`;

const planFlow = (indicator: CompiledFlow): FlowPlan => {
  const { definition } = indicator.indicator;
  const seen = new Set<string>();
  const dimensions = indicator.dimensions.filter(
    (dimension) => !seen.has(dimension.path) && seen.add(dimension.path),
  );
  const about = definition.about;
  const childPath = about && 'child' in about ? about.child : undefined;
  const counted = definition.value.kind === 'distinct' ? definition.value.field : undefined;
  return {
    indicator,
    prefix: observationKeyPrefix(indicator),
    dimensions,
    itemDate: readsItem(definition.dateField),
    itemDims: dimensions.some((dimension) => readsItem(dimension.path)),
    itemChild: readsItem(about ? ('child' in about ? about.child : about.case) : undefined),
    refIsChild: counted !== undefined && counted === childPath,
  };
};

/**
 * A text as part of an observation's key. Parts are joined with `|`, and an indicator's keys
 * always have the same number of parts, so escaping `|` (and `\`) keeps keys apart.
 */
export const escapeKeyPart = (part: string): string =>
  part.includes('|') || part.includes('\\') ? part.replace(/[\\|]/g, '\\$&') : part;

/** A key's dimension part with one more value: escaped, after a `|` unless it is the first. */
const joinKeyPart = (joined: string, index: number, value: string): string =>
  index === 0 ? escapeKeyPart(value) : `${joined}|${escapeKeyPart(value)}`;

/** The dimension values of a key: each escaped, joined with `|`. */
export const keyPartOf = (values: readonly string[]): string => {
  let joined = '';
  for (let i = 0; i < values.length; i++) joined = joinKeyPart(joined, i, values[i] as string);
  return joined;
};

export interface IndicatorProjection extends Projection {
  /** The compiled indicators, by id, for queries. */
  readonly indicators: ReadonlyMap<string, CompiledIndicator>;
  readonly timeZone: string;
}

/** Builds the indicators projection; every definition is checked here, before any event is read. */
export const createIndicatorProjection = (options: IndicatorProjectionOptions): IndicatorProjection => {
  const compiled = compileIndicators(options.indicators, options);
  const dateOf = createLocalDater(options.timeZone);
  const bookkeeping = new Set([
    'TargetSet',
    'TargetRevised',
    'ChildRegistered',
    'ConsentChanged',
    'CaseDisclosed',
  ]);

  const childOf = (
    indicator: CompiledIndicator,
    source: FieldSource,
    view: ProjectionView,
  ): string | undefined => {
    const about = indicator.about;
    if (!about) return undefined;
    if ('child' in about) return text(about.child(source));
    const caseId = about.case(source);
    const found = typeof caseId === 'string' ? view.get('cases', caseId) : undefined;
    return typeof found?.child === 'string' ? found.child : '';
  };

  const dimsOf = (indicator: CompiledIndicator, source: FieldSource): Record<string, string> => {
    const dims: Record<string, string> = {};
    for (const dimension of indicator.dimensions) dims[dimension.path] = text(dimension.get(source));
    return dims;
  };

  const monthOf = (plan: FlowPlan, source: FieldSource): string | undefined =>
    dateOf(plan.indicator.date(source))?.slice(0, 7);

  /** The dimension values as the key holds them: what `keyPartOf` gives, without an array. */
  const dimsKeyOf = (plan: FlowPlan, source: FieldSource): string => {
    const { dimensions } = plan;
    let joined = '';
    for (let i = 0; i < dimensions.length; i++) {
      joined = joinKeyPart(joined, i, text((dimensions[i] as FlowPlan['dimensions'][number]).get(source)));
    }
    return joined;
  };

  /** The parts of an observation read from the event, kept for the elements after the first. */
  interface EventParts {
    readonly month: string | undefined;
    readonly dimsKey: string;
    readonly child: string | undefined;
  }

  /**
   * One element (or the event itself) that an indicator counts, in the month, dimension values
   * and child given: its observation, added or grown.
   */
  const observeCell = (
    plan: FlowPlan,
    source: FieldSource,
    month: string,
    dimsKey: string,
    child: string | undefined,
    view: ProjectionView,
  ): void => {
    const { indicator } = plan;
    let value = 1;
    let ref: string | undefined;
    if (indicator.kind === 'sum') {
      const amount = indicator.field?.(source);
      if (typeof amount !== 'number' || !Number.isFinite(amount)) return;
      value = amount;
    } else if (indicator.kind === 'distinct') {
      const counted = indicator.field?.(source);
      if (counted === undefined || counted === null) return;
      ref = text(counted);
    }
    let key = `${plan.prefix}${month}|${dimsKey}`;
    if (child !== undefined) key += `|${escapeKeyPart(child)}`;
    if (ref !== undefined && !plan.refIsChild) key += `|${escapeKeyPart(ref)}`;
    const before = view.get('observations', key) as FlowObservation | undefined;
    if (before) {
      if (indicator.kind === 'distinct') return;
      // A copy, then the one field set: cheaper than a spread with the field beside it.
      const grown = { ...before } as { -readonly [K in keyof FlowObservation]: FlowObservation[K] };
      grown.value = before.value + value;
      view.put('observations', key, grown);
      return;
    }
    // Only a new observation needs its dimensions as an object. Read from this source, they are
    // the values in the key: a path the element does not decide reads the event here too.
    const dims: Record<string, string> = {};
    for (const dimension of plan.dimensions) dims[dimension.path] = text(dimension.get(source));
    // One literal per combination rather than spreads of optional parts, each of which builds an
    // object only to copy it. The fields keep the same order either way.
    const id = indicator.indicator.id;
    const observation: FlowObservation =
      child === undefined
        ? ref === undefined
          ? { indicator: id, month, dims, value }
          : { indicator: id, month, dims, ref, value }
        : ref === undefined
          ? { indicator: id, month, dims, child, value }
          : { indicator: id, month, dims, child, ref, value };
    view.put('observations', key, observation);
  };

  /**
   * One element of an unnested event: the event's parts are read at the first element that
   * matches and given back for the elements after it.
   */
  const observeElement = (
    plan: FlowPlan,
    source: FieldSource,
    known: EventParts | undefined,
    view: ProjectionView,
  ): EventParts | undefined => {
    if (!plan.indicator.matches(source)) return known;
    const parts: EventParts = known ?? {
      month: plan.itemDate ? undefined : monthOf(plan, source),
      dimsKey: plan.itemDims ? '' : dimsKeyOf(plan, source),
      child: plan.itemChild ? undefined : childOf(plan.indicator, source, view),
    };
    const month = plan.itemDate ? monthOf(plan, source) : parts.month;
    if (month === undefined) return parts;
    const dimsKey = plan.itemDims ? dimsKeyOf(plan, source) : parts.dimsKey;
    const child = plan.itemChild ? childOf(plan.indicator, source, view) : parts.child;
    observeCell(plan, source, month, dimsKey, child, view);
    return parts;
  };

  const observeFlow = (plan: FlowPlan, event: RecordedEvent, view: ProjectionView): void => {
    const { indicator } = plan;
    if (!indicator.unnest) {
      // The event itself: nothing to keep between elements, so no parts object.
      if (!indicator.matches(event)) return;
      const month = monthOf(plan, event);
      if (month === undefined) return;
      observeCell(plan, event, month, dimsKeyOf(plan, event), childOf(indicator, event, view), view);
      return;
    }
    const items = indicator.unnest(sourceOf(event));
    if (!Array.isArray(items)) return;
    let parts: EventParts | undefined;
    // An index loop: events are frozen, and V8 iterates frozen arrays slower with for…of.
    for (let i = 0; i < items.length; i++) {
      parts = observeElement(plan, sourceOf(event, items[i]), parts, view);
    }
  };

  const observeKeyed = (
    indicator: CompiledKeyed,
    prefix: string,
    event: RecordedEvent,
    view: ProjectionView,
  ): void => {
    const source = sourceOf(event);
    const byValue = indicator.by(source);
    if (byValue === undefined || byValue === null) return;
    const key = `${prefix}${text(byValue)}`;
    const before = view.get('observations', key) as KeyedObservation | undefined;
    const { from } = indicator;
    if (event.type === from.eventType && from.matches(source)) {
      const date = dateOf(from.date(source));
      if (date === undefined) return;
      if (!before) {
        const child = childOf(indicator, source, view);
        const first = indicator.kind === 'change' ? indicator.field?.(source) : undefined;
        const observation: KeyedObservation = {
          indicator: indicator.indicator.id,
          key: text(byValue),
          dims: dimsOf(indicator, source),
          ...(child === undefined ? {} : { child }),
          from: date,
          ...(typeof first === 'number' ? { first } : {}),
        };
        view.put('observations', key, observation);
        return;
      }
      // Opened again after being closed (a club reopened): open from now.
      if (indicator.kind === 'active' && before.closed !== undefined && date >= before.closed) {
        const { closed: _closed, ...open } = before;
        view.put('observations', key, { ...open, from: date });
      }
      if (event.type !== indicator.to[0]?.eventType) return;
    }
    if (!before) return;
    for (const stage of indicator.to) {
      if (event.type !== stage.eventType || !stage.matches(source)) continue;
      const date = dateOf(stage.date(source));
      if (date === undefined || date < before.from) continue;
      if (indicator.kind === 'active') {
        view.put('observations', key, { ...before, closed: date });
      } else if (indicator.kind === 'change') {
        const value = indicator.field?.(source);
        if (typeof value !== 'number') continue;
        if (!before.latest || date >= before.latest.date) {
          view.put('observations', key, { ...before, latest: { date, value } });
        }
      } else if (before.to === undefined) {
        view.put('observations', key, { ...before, to: date });
      }
      return;
    }
  };

  const keepBookkeeping = (event: RecordedEvent, view: ProjectionView): void => {
    const data = event.data as Record<string, unknown>;
    switch (event.type) {
      case 'TargetSet':
      case 'TargetRevised': {
        const target: TargetDocument = {
          indicator: String(data.indicatorId),
          periodStart: String(data.periodStart),
          periodEnd: String(data.periodEnd),
          value: Number(data.value),
          ...(typeof data.baseline === 'number' ? { baseline: data.baseline } : {}),
          setAt: (event.metadata as { occurredAt: string }).occurredAt,
        };
        view.put('targets', `${target.indicator}|${target.periodStart}|${target.periodEnd}`, target);
        return;
      }
      case 'ChildRegistered':
      case 'ConsentChanged':
        keepReportingConsent(event, view);
        return;
      case 'CaseDisclosed':
        view.put('cases', String(data.caseId), { child: String(data.childRef) });
        return;
      default:
        return;
    }
  };

  /**
   * What each event type is observed by. A flow indicator's plan (how its observations are keyed
   * and which parts the element decides) is worked out here, once.
   */
  const byType = new Map<string, ((event: RecordedEvent, view: ProjectionView) => void)[]>();
  const observeOn = (
    types: Iterable<string>,
    observe: (event: RecordedEvent, view: ProjectionView) => void,
  ) => {
    for (const type of types) byType.set(type, [...(byType.get(type) ?? []), observe]);
  };
  for (const indicator of compiled.values()) {
    if (isFlow(indicator)) {
      const plan = planFlow(indicator);
      observeOn(indicator.eventTypes, (event, view) => observeFlow(plan, event, view));
    } else if (isKeyed(indicator)) {
      const types = new Set([indicator.from.eventType, ...indicator.to.map((stage) => stage.eventType)]);
      const prefix = observationKeyPrefix(indicator);
      observeOn(types, (event, view) => observeKeyed(indicator, prefix, event, view));
    }
  }

  const projection = defineProjection(
    {
      name: options.name ?? 'indicators',
      version: foldVersion * 1_000_000 + fingerprint(options.indicators, options.timeZone),
      eventTypes: [...new Set([...eventTypesOf(compiled.values()), ...bookkeeping])],
      collections: [...indicatorCollections],
      apply: (event, view) => {
        // Cases first: an indicator about a case looks its child up.
        if (bookkeeping.has(event.type)) keepBookkeeping(event, view);
        for (const observe of byType.get(event.type) ?? []) observe(event, view);
      },
    },
    options.registry ? { registry: options.registry } : {},
  );
  return { ...projection, indicators: compiled, timeZone: options.timeZone };
};
