import { createHash } from 'node:crypto';
import { keepableTextOf, type ReadModelDocument, type RecordedEvent, setOwnField } from '@lantern/core';
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
 * applied at query time too. A count, sum or distinct indicator keeps one document per month and
 * combination, with a cell per child (see {@link FlowObservationDocument}); it folds a read's
 * events at once (`applyEvents`) and puts each document it changed once. It also keeps targets
 * (TargetSet, TargetRevised), each child's reporting consent (ChildRegistered, ConsentChanged)
 * and which child each case is about.
 */

/** Collections of the indicators projection. */
export const indicatorCollections = ['observations', 'targets', 'children', 'cases', 'coverage'] as const;

/** Code version of this fold; the projection's version also changes whenever the definitions do. */
const foldVersion = 5;

/**
 * The months the indicators have observed anything in, every indicator together, as the
 * `coverage` collection keeps it (key {@link observedMonthsKey}): from the first month any
 * observation names to the last, in the programme's time zone. A stock (`active`) runs to the
 * last of them, not only to the last month one of its own keys opened or closed: clubs opened in
 * 2019 and never closed are still open in the programme's latest month.
 */
export interface ObservedMonths extends ReadModelDocument {
  /** `YYYY-MM`. */
  readonly first: string;
  /** `YYYY-MM`. */
  readonly last: string;
}

/** The key of the {@link ObservedMonths} document in the `coverage` collection. */
export const observedMonthsKey = 'observed';

/**
 * What a count, sum or distinct indicator counted in a month and a dimension combination, as the
 * read model keeps it (key `f|<indicator>|<month>|<dimension values>`). An indicator about
 * children keeps each child's figure in `cells`, so that consent can be applied when queried; one
 * counting a value once keeps each value there. One document holds them all, so a rebuild writes
 * one document per month and combination rather than one per child.
 */
export interface FlowObservationDocument extends ReadModelDocument {
  readonly indicator: string;
  /** `YYYY-MM`, in the programme's time zone. */
  readonly month: string;
  readonly dims: Readonly<Record<string, string>>;
  /** Not about children, not counting once: the count or sum. */
  readonly value?: number;
  /**
   * About children, or counting once: each cell's count or sum (1 for a value counted once), by
   * the child it is about ('' when unknown), by the value counted once, or by both, joined as
   * `child|value` with `|` and `\` escaped as in keys. A child counted once is keyed by the child
   * alone.
   */
  readonly cells?: Readonly<Record<string, number>>;
  /**
   * How many documents the cells lie in, on the first of them, when more than one: a month of many
   * children is kept in pages of at most {@link cellsPerPage} cells, keyed
   * `f|<indicator>|<month>|<values>|#<page>` after the first.
   */
  readonly pages?: number;
}

/**
 * One cell of a {@link FlowObservationDocument}: a month, a dimension combination and a child, for
 * a count, sum or distinct indicator. What `loadIndicatorData` gives queries, one per cell.
 */
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
  /** What its cells are keyed by; none when the document holds one value. */
  readonly cells: CellKeys | undefined;
}

/** What a flow indicator's cells are keyed by: see {@link FlowObservationDocument}. */
type CellKeys = 'child' | 'ref' | 'child|ref';

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
  const refIsChild = counted !== undefined && counted === childPath;
  return {
    indicator,
    prefix: observationKeyPrefix(indicator),
    dimensions,
    itemDate: readsItem(definition.dateField),
    itemDims: dimensions.some((dimension) => readsItem(dimension.path)),
    itemChild: readsItem(about ? ('child' in about ? about.child : about.case) : undefined),
    refIsChild,
    cells: cellKeysOf(about !== undefined, counted !== undefined, refIsChild),
  };
};

const cellKeysOf = (
  aboutChildren: boolean,
  countsOnce: boolean,
  refIsChild: boolean,
): CellKeys | undefined =>
  aboutChildren ? (countsOnce && !refIsChild ? 'child|ref' : 'child') : countsOnce ? 'ref' : undefined;

/**
 * A text as part of an observation's key. Parts are joined with `|`, and an indicator's keys
 * always have the same number of parts, so escaping `|` (and `\`) keeps keys apart.
 */
export const escapeKeyPart = (part: string): string =>
  part.includes('|') || part.includes('\\') ? part.replace(/[\\|]/g, '\\$&') : part;

/** A key's dimension part with one more value: escaped, after a `|` unless it is the first. */
const joinKeyPart = (joined: string, index: number, value: string): string =>
  index === 0 ? escapeKeyPart(value) : `${joined}|${escapeKeyPart(value)}`;

/** A document as the fold changes it in place. */
type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** A flow document as it is grown: see {@link FlowObservationDocument}. */
interface GrownDocument extends ReadModelDocument {
  readonly indicator: string;
  readonly month: string;
  readonly dims: Readonly<Record<string, string>>;
  value?: number;
  cells?: Record<string, number>;
  pages?: number;
}

/**
 * A month and combination met in a run of events, its documents grown in place and those changed
 * put back once. With cells, they lie in `pages` pages (documents), each cell in the page its
 * name's hash picks; the first page is the one keyed by the month and combination.
 */
interface Group {
  readonly key: string;
  /** Its pages as read or made in this run, by number; the first always. */
  readonly pages: (GrownDocument | undefined)[];
  /** How many cells each page read or made holds. */
  readonly sizes: number[];
  /** The pages changed: a value counted once already leaves its page as it was. */
  readonly changed: Set<number>;
}

/** The documents a run of events grows, by the month and combination's key. */
type Groups = Map<string, Group>;

/**
 * The most cells a page holds. Once a cell would make one hold more, the pages are doubled and
 * every cell moved to the page its hash then picks, so a page holds about half of this or more;
 * which page holds a cell depends only on which cells there are, not on the order they came in.
 * A live event rewrites one page, not a month's every child.
 */
export const cellsPerPage = 64;

/**
 * The most pages a month and combination is spread over. Names typed in a field could be chosen
 * to share a hash: past this, pages grow beyond {@link cellsPerPage} rather than double for ever.
 */
export const mostPages = 1024;

/** The key of a month and combination's page: the first is the month and combination's own. */
const pageKey = (key: string, page: number): string => (page === 0 ? key : `${key}|#${page}`);

/** FNV-1a of a cell's name, over its UTF-16 code units: the same in every process. */
const hashOf = (cell: string): number => {
  let hash = 0x811c9dc5;
  for (let i = 0; i < cell.length; i += 1) hash = Math.imul(hash ^ cell.charCodeAt(i), 0x01000193);
  return hash >>> 0;
};

/**
 * A cell's figure, if it has one. Cells are numbers, and nothing an object inherits is one, so a
 * cell named `toString` or `__proto__` reads as absent until it is counted.
 */
const cellOf = (cells: Record<string, number>, cell: string): number | undefined => {
  const held: unknown = cells[cell];
  return typeof held === 'number' ? held : undefined;
};

/**
 * An empty page of cells, without a prototype. V8 keeps such an object as a dictionary from the
 * start; an ordinary one would take a hidden class of its own for each of its first cells, whose
 * names differ from page to page, and that cost about a fifth of evaluating every built-in
 * indicator. Stores keep it, and the engine publishes it, as plain JSON: no reader sees a
 * difference.
 */
const newCells = (): Record<string, number> => Object.create(null) as Record<string, number>;

/**
 * How many cells a page's cells object holds, as counted when its run of events was put: a page
 * grown in place over many runs is not counted again at each (with `Object.keys`, an array of up
 * to 64 names for every page every run meets). Keyed by the object, so a page the engine reloads,
 * after a fold failed or from the store, is counted anew.
 */
const cellCounts = new WeakMap<object, number>();

const cellCountOf = (cells: Record<string, number>): number =>
  cellCounts.get(cells) ?? Object.keys(cells).length;

/** The dimension values of a key: each escaped, joined with `|`. */
export const keyPartOf = (values: readonly string[]): string => {
  let joined = '';
  for (let i = 0; i < values.length; i++) joined = joinKeyPart(joined, i, values[i] as string);
  return joined;
};

/** A `child|value` cell's two parts, each unescaped. */
const splitCell = (cell: string): [string, string] => {
  const parts = ['', ''];
  let part = 0;
  for (let i = 0; i < cell.length; i += 1) {
    const char = cell[i] as string;
    if (char === '\\') {
      i += 1;
      parts[part] += cell[i] ?? '';
    } else if (char === '|' && part === 0) part = 1;
    else parts[part] += char;
  }
  return parts as [string, string];
};

/**
 * The observations stored documents hold, as queries read them: each cell of a flow document as
 * a {@link FlowObservation} of its own, every other document as it is. A flow document of an
 * indicator not in `indicators` is left out: no query reads it.
 */
export const observationsInDocuments = (
  indicators: ReadonlyMap<string, CompiledIndicator>,
  documents: readonly ReadModelDocument[],
): ReadModelDocument[] => {
  const keysOf = new Map<string, { readonly cells: CellKeys | undefined; readonly refIsChild: boolean }>();
  const out: ReadModelDocument[] = [];
  for (const document of documents) {
    const cells = (document as FlowObservationDocument).cells;
    if (cells === undefined) {
      out.push(document);
      continue;
    }
    const { indicator: id, month, dims } = document as FlowObservationDocument;
    let keys = keysOf.get(id);
    if (keys === undefined) {
      const indicator = indicators.get(id);
      const plan = indicator !== undefined && isFlow(indicator) ? planFlow(indicator) : undefined;
      keys = { cells: plan?.cells, refIsChild: plan?.refIsChild ?? false };
      keysOf.set(id, keys);
    }
    for (const cell of Object.keys(cells)) {
      const value = cells[cell] as number;
      switch (keys.cells) {
        case 'child':
          out.push(
            keys.refIsChild
              ? { indicator: id, month, dims, child: cell, ref: cell, value }
              : { indicator: id, month, dims, child: cell, value },
          );
          break;
        case 'ref':
          out.push({ indicator: id, month, dims, ref: cell, value });
          break;
        case 'child|ref': {
          const [child, ref] = splitCell(cell);
          out.push({ indicator: id, month, dims, child, ref, value });
          break;
        }
        case undefined:
          break;
      }
    }
  }
  return out;
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

  /** The first and last month observed in the run of events being folded; see {@link ObservedMonths}. */
  let runFirst: string | undefined;
  let runLast: string | undefined;
  /** A month (or a date in it, `YYYY-MM-DD`) in which an observation was made or changed. */
  const observedIn = (date: string): void => {
    const month = date.length === 7 ? date : date.slice(0, 7);
    if (runLast === undefined || month > runLast) runLast = month;
    if (runFirst === undefined || month < runFirst) runFirst = month;
  };

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
    /** The month and combination's key, when neither depends on the element. */
    readonly key: string | undefined;
    readonly child: string | undefined;
  }

  /** The key of a month and combination's first page: `f|<indicator>|<month>|<dimension values>`. */
  const groupKey = (plan: FlowPlan, month: string, dimsKey: string): string =>
    `${plan.prefix}${month}|${dimsKey}`;

  /**
   * One element (or the event itself) that an indicator counts, in the month, dimension values
   * and child given: its cell of the month and combination, added or grown in `groups`.
   */
  const observeCell = (
    plan: FlowPlan,
    source: FieldSource,
    month: string,
    key: string,
    child: string | undefined,
    view: ProjectionView,
    groups: Groups,
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
    observedIn(month);
    const group = groups.get(key) ?? openGroup(plan, key, month, source, view, groups);
    const first = group.pages[0] as GrownDocument;
    if (first.cells === undefined) {
      first.value = (first.value ?? 0) + value;
      group.changed.add(0);
      return;
    }
    const cell =
      plan.cells === 'child'
        ? (child as string)
        : plan.cells === 'ref'
          ? (ref as string)
          : `${escapeKeyPart(child as string)}|${escapeKeyPart(ref as string)}`;
    const count = first.pages ?? 1;
    const page = count === 1 ? 0 : hashOf(cell) & (count - 1);
    const cells = pageOf(group, page, view).cells as Record<string, number>;
    const before = cellOf(cells, cell);
    if (indicator.kind === 'distinct') {
      if (before !== undefined) return;
      setOwnField(cells, cell, 1);
    } else {
      setOwnField(cells, cell, before === undefined ? value : before + value);
    }
    group.changed.add(page);
    if (before === undefined) {
      group.sizes[page] = (group.sizes[page] as number) + 1;
      if ((group.sizes[page] as number) > cellsPerPage && count < mostPages) doublePages(group, view);
    }
  };

  /**
   * A month and combination first met in this run of events: its first page as the engine holds
   * it, to be grown in place and put back (the view allows it), or a new one. Only a new one
   * needs the dimensions as an object; read from this source, they are the values in the key.
   */
  const openGroup = (
    plan: FlowPlan,
    key: string,
    month: string,
    source: FieldSource,
    view: ProjectionView,
    groups: Groups,
  ): Group => {
    let first = view.get('observations', key) as GrownDocument | undefined;
    if (first === undefined) {
      const indicator = plan.indicator.indicator.id;
      const dims: Record<string, string> = {};
      for (const dimension of plan.dimensions) dims[dimension.path] = text(dimension.get(source));
      first =
        plan.cells === undefined
          ? { indicator, month, dims, value: 0 }
          : { indicator, month, dims, cells: newCells() };
    }
    const group: Group = {
      key,
      pages: [first],
      sizes: [first.cells === undefined ? 0 : cellCountOf(first.cells)],
      changed: new Set(),
    };
    groups.set(key, group);
    return group;
  };

  /** A page of a month and combination: read when first needed in this run, or made. */
  const pageOf = (group: Group, page: number, view: ProjectionView): GrownDocument => {
    const held = group.pages[page];
    if (held !== undefined) return held;
    const { indicator, month, dims } = group.pages[0] as GrownDocument;
    const document = (view.get('observations', pageKey(group.key, page)) as GrownDocument | undefined) ?? {
      indicator,
      month,
      dims,
      cells: newCells(),
    };
    group.pages[page] = document;
    group.sizes[page] = cellCountOf(document.cells as Record<string, number>);
    return document;
  };

  /**
   * Doubles a month and combination's pages, as often as it takes for none to hold more than
   * {@link cellsPerPage} cells (up to {@link mostPages}), and moves every cell, in order, to the
   * page its hash now picks.
   */
  const doublePages = (group: Group, view: ProjectionView): void => {
    const first = group.pages[0] as GrownDocument;
    const before = first.pages ?? 1;
    const all: [string, number][] = [];
    for (let page = 0; page < before; page += 1) {
      const cells = pageOf(group, page, view).cells as Record<string, number>;
      for (const cell of Object.keys(cells)) all.push([cell, cellOf(cells, cell) as number]);
    }
    let count = before;
    let spread: Record<string, number>[];
    let sizes: number[];
    do {
      count *= 2;
      spread = Array.from({ length: count }, newCells);
      sizes = new Array<number>(count).fill(0);
      for (const [cell, value] of all) {
        const page = hashOf(cell) & (count - 1);
        setOwnField(spread[page] as Record<string, number>, cell, value);
        sizes[page] = (sizes[page] as number) + 1;
      }
    } while (count < mostPages && sizes.some((size) => size > cellsPerPage));
    for (let page = 0; page < count; page += 1) {
      pageOf(group, page, view).cells = spread[page] as Record<string, number>;
      group.sizes[page] = sizes[page] as number;
      group.changed.add(page);
    }
    first.pages = count;
  };

  /** Puts every document a run of events changed, once each. */
  const putGroups = (groups: Groups, view: ProjectionView): void => {
    for (const group of groups.values()) {
      for (const page of group.changed) {
        const document = group.pages[page] as GrownDocument;
        view.put('observations', pageKey(group.key, page), document);
        if (document.cells !== undefined) cellCounts.set(document.cells, group.sizes[page] as number);
      }
    }
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
    groups: Groups,
  ): EventParts | undefined => {
    if (!plan.indicator.matches(source)) return known;
    let parts = known;
    if (parts === undefined) {
      const eventMonth = plan.itemDate ? undefined : monthOf(plan, source);
      const eventDims = plan.itemDims ? '' : dimsKeyOf(plan, source);
      parts = {
        month: eventMonth,
        dimsKey: eventDims,
        key: eventMonth === undefined || plan.itemDims ? undefined : groupKey(plan, eventMonth, eventDims),
        child: plan.itemChild ? undefined : childOf(plan.indicator, source, view),
      };
    }
    const month = plan.itemDate ? monthOf(plan, source) : parts.month;
    if (month === undefined) return parts;
    const key = parts.key ?? groupKey(plan, month, plan.itemDims ? dimsKeyOf(plan, source) : parts.dimsKey);
    const child = plan.itemChild ? childOf(plan.indicator, source, view) : parts.child;
    observeCell(plan, source, month, key, child, view, groups);
    return parts;
  };

  const observeFlow = (plan: FlowPlan, event: RecordedEvent, view: ProjectionView, groups: Groups): void => {
    const { indicator } = plan;
    if (!indicator.unnest) {
      // The event itself: nothing to keep between elements, so no parts object.
      if (!indicator.matches(event)) return;
      const month = monthOf(plan, event);
      if (month === undefined) return;
      const key = groupKey(plan, month, dimsKeyOf(plan, event));
      observeCell(plan, event, month, key, childOf(indicator, event, view), view, groups);
      return;
    }
    const items = indicator.unnest(sourceOf(event));
    if (!Array.isArray(items)) return;
    let parts: EventParts | undefined;
    // One source for every element, its item set in turn: what reads it is done with it before
    // the next element, and a rebuild need not make an object for every child in every session.
    const element: { data: unknown; metadata: unknown; item: unknown } = {
      data: event.data,
      metadata: event.metadata,
      item: undefined,
    };
    // An index loop: events are frozen, and V8 iterates frozen arrays slower with for…of.
    for (let i = 0; i < items.length; i++) {
      element.item = items[i];
      parts = observeElement(plan, element, parts, view, groups);
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
    const keyText = text(byValue);
    const key = `${prefix}${keyText}`;
    // Changed in place and put back, as the flow documents are: the engine reloads what it holds
    // when a fold fails.
    const before = view.get('observations', key) as Writable<KeyedObservation> | undefined;
    const { from } = indicator;
    if (event.type === from.eventType && from.matches(source)) {
      const date = dateOf(from.date(source));
      if (date === undefined) return;
      if (!before) {
        const child = childOf(indicator, source, view);
        const first = indicator.kind === 'change' ? indicator.field?.(source) : undefined;
        const id = indicator.indicator.id;
        const dims = dimsOf(indicator, source);
        const observation: Writable<KeyedObservation> =
          child === undefined
            ? { indicator: id, key: keyText, dims, from: date }
            : { indicator: id, key: keyText, dims, child, from: date };
        if (typeof first === 'number') observation.first = first;
        view.put('observations', key, observation);
        observedIn(date);
        return;
      }
      // Opened again after being closed (a club reopened): open from now.
      if (indicator.kind === 'active' && before.closed !== undefined && date >= before.closed) {
        delete before.closed;
        before.from = date;
        view.put('observations', key, before);
        observedIn(date);
      }
      if (event.type !== indicator.to[0]?.eventType) return;
    }
    if (!before) return;
    for (const stage of indicator.to) {
      if (event.type !== stage.eventType || !stage.matches(source)) continue;
      const date = dateOf(stage.date(source));
      if (date === undefined || date < before.from) continue;
      if (indicator.kind === 'active') {
        before.closed = date;
        view.put('observations', key, before);
        observedIn(date);
      } else if (indicator.kind === 'change') {
        const value = indicator.field?.(source);
        if (typeof value !== 'number') continue;
        if (!before.latest || date >= before.latest.date) {
          before.latest = { date, value };
          view.put('observations', key, before);
          observedIn(date);
        }
      } else if (before.to === undefined) {
        before.to = date;
        view.put('observations', key, before);
        observedIn(date);
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

  /** Widens the months observed so far to take in a run's, put back only when they grew. */
  const widenObserved = (first: string, last: string, view: ProjectionView): void => {
    const held = view.get('coverage', observedMonthsKey) as ObservedMonths | undefined;
    if (held !== undefined && held.first <= first && held.last >= last) return;
    const months: ObservedMonths = {
      first: held === undefined || first < held.first ? first : held.first,
      last: held === undefined || last > held.last ? last : held.last,
    };
    view.put('coverage', observedMonthsKey, months);
  };

  /**
   * What each event type is observed by. A flow indicator's plan (how its observations are keyed
   * and which parts the element decides) is worked out here, once.
   */
  type Observe = (event: RecordedEvent, view: ProjectionView, groups: Groups) => void;
  const byType = new Map<string, Observe[]>();
  const observeOn = (types: Iterable<string>, observe: Observe) => {
    for (const type of types) byType.set(type, [...(byType.get(type) ?? []), observe]);
  };
  for (const indicator of compiled.values()) {
    if (isFlow(indicator)) {
      const plan = planFlow(indicator);
      observeOn(indicator.eventTypes, (event, view, groups) => observeFlow(plan, event, view, groups));
    } else if (isKeyed(indicator)) {
      const types = new Set([indicator.from.eventType, ...indicator.to.map((stage) => stage.eventType)]);
      const prefix = observationKeyPrefix(indicator);
      observeOn(types, (event, view) => observeKeyed(indicator, prefix, event, view));
    }
  }

  /**
   * Folds a run of events: the flow indicators' documents are grown in memory as the events come
   * and put once at the end, each as the events one at a time would have left it.
   */
  const applyEvents = (events: readonly RecordedEvent[], view: ProjectionView): void => {
    const groups: Groups = new Map();
    runFirst = undefined;
    runLast = undefined;
    for (let i = 0; i < events.length; i++) {
      const event = events[i] as RecordedEvent;
      // Cases first: an indicator about a case looks its child up.
      if (bookkeeping.has(event.type)) keepBookkeeping(event, view);
      const observers = byType.get(event.type);
      if (observers) for (const observe of observers) observe(event, view, groups);
    }
    putGroups(groups, view);
    if (runFirst !== undefined && runLast !== undefined) widenObserved(runFirst, runLast, view);
  };

  const projection = defineProjection(
    {
      name: options.name ?? 'indicators',
      version: foldVersion * 1_000_000 + fingerprint(options.indicators, options.timeZone),
      eventTypes: [...new Set([...eventTypesOf(compiled.values()), ...bookkeeping])],
      collections: [...indicatorCollections],
      apply: (event, view) => applyEvents([event], view),
      applyEvents,
    },
    options.registry ? { registry: options.registry } : {},
  );
  return { ...projection, indicators: compiled, timeZone: options.timeZone };
};
