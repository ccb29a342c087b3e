import {
  defaultEventRegistry,
  type EventRegistry,
  type IndicatorCondition,
  type IndicatorDefinition,
  type IndicatorStage,
  indicatorDefinition as indicatorDefinitionSchema,
  slugId,
  ValidationError,
} from '@lantern/core';
import { fixDefinition } from '../advice.js';
import {
  checkArrayPath,
  checkNumberPath,
  checkPath,
  type FieldGetter,
  type FieldSource,
  fieldGetter,
  identifierAt,
  refuseProtectedField,
} from './fields.js';

/** An indicator as the programme states it: an id, words for people, and its definition as data. */
export interface Indicator {
  /** A slug, e.g. `children-reached-night-outreach`. */
  readonly id: string;
  readonly title: string;
  /** What one unit is: children, clubs, cases, households, kg… */
  readonly unit: string;
  /** `percentage` for ratios scaled to 100. */
  readonly measure: 'unit' | 'percentage';
  /** True when a higher value is better. */
  readonly ascending: boolean;
  readonly definition: IndicatorDefinition;
  /** What the figure counts and what it leaves out, for report footnotes. */
  readonly note?: string;
  /**
   * Whether small values are hidden from audiences outside the programme. Default true: counts of
   * children, cases, households, staff. False for quantities of things (kg of rice, leaflets,
   * clubs), which are released exactly (areas still coarsened, periods still no finer than allowed).
   */
  readonly protect?: boolean;
}

export type Predicate = (source: FieldSource) => boolean;

export interface CompiledStage {
  readonly eventType: string;
  readonly matches: Predicate;
  readonly date: FieldGetter;
}

interface CompiledBase {
  readonly indicator: Indicator;
  /**
   * Each dimension: its path, its getter, and what its values identify one by one when they do
   * (a child pseudonym, a case number…: see `identifierAt`); a release outside the programme may
   * not break down by such a dimension.
   */
  readonly dimensions: readonly {
    readonly path: string;
    readonly get: FieldGetter;
    readonly identifies?: string;
  }[];
  readonly about?: { readonly child: FieldGetter } | { readonly case: FieldGetter };
}

/** Counted event by event (or element by element): count, sum, distinct. */
export interface CompiledFlow extends CompiledBase {
  readonly kind: 'count' | 'sum' | 'distinct';
  readonly eventTypes: ReadonlySet<string>;
  readonly matches: Predicate;
  readonly unnest?: FieldGetter;
  readonly date: FieldGetter;
  /** The summed field (sum) or the counted-once field (distinct). */
  readonly field?: FieldGetter;
}

/** Pairs of events tied by a key: medianDays, linked, change; and stocks: active. */
export interface CompiledKeyed extends CompiledBase {
  readonly kind: 'medianDays' | 'linked' | 'change' | 'active';
  readonly by: FieldGetter;
  readonly from: CompiledStage;
  /** For `active`: the stages that close a key. */
  readonly to: readonly CompiledStage[];
  readonly withinDays?: number;
  readonly atLeast?: number;
  readonly field?: FieldGetter;
}

/** Computed from two other indicators when queried. */
export interface CompiledRatio extends CompiledBase {
  readonly kind: 'ratio';
  readonly numerator: string;
  readonly denominator: string;
  readonly scale: number;
}

export type CompiledIndicator = CompiledFlow | CompiledKeyed | CompiledRatio;

const comparable = (value: unknown): string | number | boolean | undefined =>
  typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : undefined;

const compileCondition = (condition: IndicatorCondition): Predicate => {
  const get = fieldGetter(condition.field);
  switch (condition.op) {
    case 'eq':
      return (source) => get(source) === condition.value;
    case 'ne':
      return (source) => get(source) !== condition.value;
    case 'in': {
      const values = new Set<unknown>(condition.values);
      return (source) => values.has(get(source));
    }
    case 'includes':
      return (source) => {
        const value = get(source);
        return Array.isArray(value) && value.includes(condition.value);
      };
    case 'gte':
      return (source) => {
        const value = comparable(get(source));
        return typeof value === 'number' && value >= condition.value;
      };
    case 'lte':
      return (source) => {
        const value = comparable(get(source));
        return typeof value === 'number' && value <= condition.value;
      };
    case 'exists':
      return (source) => get(source) !== undefined && get(source) !== null;
  }
};

const allOf = (conditions: readonly IndicatorCondition[] | undefined): Predicate => {
  const predicates = (conditions ?? []).map(compileCondition);
  if (predicates.length === 0) return () => true;
  if (predicates.length === 1) return predicates[0] as Predicate;
  return (source) => {
    for (const predicate of predicates) if (!predicate(source)) return false;
    return true;
  };
};

export interface CompileOptions {
  /** Event types and their schemas, to check every type and field named. Default: the catalog. */
  registry?: EventRegistry;
}

/**
 * Checks an indicator in full — its shape, every event type, every field path, the indicators a
 * ratio names — and compiles it into getters and predicates. Throws before any event is read, and
 * refuses any path that names a protected field (`registry.get(type).protection.fields`).
 */
export const compileIndicators = (
  indicators: readonly Indicator[],
  options: CompileOptions = {},
): Map<string, CompiledIndicator> => {
  const registry = options.registry ?? defaultEventRegistry;
  const compiled = new Map<string, CompiledIndicator>();
  for (const indicator of indicators) {
    const idCheck = slugId.safeParse(indicator.id);
    if (!idCheck.success) {
      throw new ValidationError(
        '(indicator)',
        'id',
        `"${indicator.id}" is not a slug`,
        'use lowercase letters, digits and hyphens',
        fixDefinition,
      );
    }
    if (compiled.has(indicator.id)) {
      throw new TypeError(
        `Indicator "${indicator.id}" is defined twice; define each indicator exactly once.`,
      );
    }
    const parsed = indicatorDefinitionSchema.safeParse(indicator.definition);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ValidationError(
        '(indicator)',
        `${indicator.id}.${issue?.path.join('.') ?? ''}`,
        issue?.message ?? 'is not a valid indicator definition',
        'see IndicatorDefinition in @lantern/core for the shape',
        fixDefinition,
      );
    }
    compiled.set(indicator.id, compileOne(indicator, registry));
  }
  for (const indicator of compiled.values()) {
    if (indicator.kind !== 'ratio') continue;
    for (const part of [indicator.numerator, indicator.denominator]) {
      const other = compiled.get(part);
      if (!other) {
        throw new ValidationError(
          '(indicator)',
          `${indicator.indicator.id}.value`,
          `the ratio names indicator "${part}", which is not defined`,
          'define it in the same set, or fix the name',
          fixDefinition,
        );
      }
      if (other.kind === 'ratio' || other.kind === 'medianDays') {
        throw new ValidationError(
          '(indicator)',
          `${indicator.indicator.id}.value`,
          `a ratio's parts must be counts, not a ${other.kind} ("${part}")`,
          'make each part a count, sum, distinct, linked, change or active indicator',
          fixDefinition,
        );
      }
    }
  }
  return compiled;
};

/** Every field path a definition names, with the part it plays: what the protected-field check reads. */
const pathsOf = (definition: IndicatorDefinition): { readonly path: string; readonly role: string }[] => {
  const paths: { path: string; role: string }[] = [];
  const conditions = (where: readonly IndicatorCondition[] | undefined, role: string) => {
    for (const condition of where ?? []) paths.push({ path: condition.field, role });
  };
  const stage = (step: IndicatorStage, role: string) => {
    conditions(step.where, `${role} condition`);
    if (step.dateField) paths.push({ path: step.dateField, role: `${role} date` });
  };
  conditions(definition.filter.where, 'condition');
  for (const dimension of definition.dimensions ?? []) paths.push({ path: dimension, role: 'dimension' });
  if (definition.dateField) paths.push({ path: definition.dateField, role: 'date field' });
  if (definition.unnest) paths.push({ path: definition.unnest, role: 'unnest' });
  const about = definition.about;
  if (about) paths.push({ path: 'child' in about ? about.child : about.case, role: 'subject' });
  const value = definition.value;
  switch (value.kind) {
    case 'count':
    case 'ratio':
      break;
    case 'sum':
    case 'distinct':
      paths.push({ path: value.field, role: `${value.kind} field` });
      break;
    case 'medianDays':
    case 'linked':
      paths.push({ path: value.by, role: 'key' });
      stage(value.from, 'from');
      stage(value.to, 'to');
      break;
    case 'change':
      paths.push({ path: value.by, role: 'key' }, { path: value.field, role: 'change field' });
      stage(value.from, 'from');
      stage(value.to, 'to');
      break;
    case 'active':
      paths.push({ path: value.by, role: 'key' });
      stage(value.opens, 'opens');
      for (const closes of value.closes) stage(closes, 'closes');
      break;
  }
  return paths;
};

const compileOne = (indicator: Indicator, registry: EventRegistry): CompiledIndicator => {
  const { definition } = indicator;
  const id = indicator.id;
  const types = definition.filter.eventTypes;
  for (const eventType of types) {
    if (!registry.get(eventType)) {
      throw new ValidationError(
        eventType,
        `${id}.filter.eventTypes`,
        `indicator "${id}" names an unknown event type`,
        'use a type from the event catalog, or pass the registry that defines it',
        fixDefinition,
      );
    }
  }
  // Before anything else: no path anywhere in the definition may name a protected field of any
  // type it reads. `item.` paths cannot: protected fields are top-level text, never arrays.
  for (const { path, role } of pathsOf(definition)) {
    for (const eventType of types) refuseProtectedField({ indicator: id, registry, eventType }, path, role);
  }
  const contexts = types.map((eventType) => ({
    indicator: id,
    registry,
    eventType,
    ...(definition.unnest ? { unnest: definition.unnest } : {}),
  }));
  const checkEverywhere = (path: string, role: string) => {
    for (const context of contexts) checkPath(context, path, role);
  };
  if (definition.unnest) for (const context of contexts) checkArrayPath(context, definition.unnest);
  const value = definition.value;
  // A flow reads every filtered type; a keyed indicator takes dimensions and subject from the
  // event that starts each key (the `from` or `opens` stage).
  const startType =
    value.kind === 'medianDays' || value.kind === 'linked' || value.kind === 'change'
      ? value.from.eventType
      : value.kind === 'active'
        ? value.opens.eventType
        : undefined;
  const checkDescribing = (path: string, role: string) => {
    if (startType === undefined) checkEverywhere(path, role);
    else checkPath({ indicator: id, registry, eventType: startType }, path, role);
  };
  for (const condition of definition.filter.where ?? []) checkEverywhere(condition.field, 'condition');
  for (const dimension of definition.dimensions ?? []) checkDescribing(dimension, 'dimension');
  const about = definition.about;
  if (about) checkDescribing('child' in about ? about.child : about.case, 'subject');
  const describing = startType === undefined ? contexts : [{ indicator: id, registry, eventType: startType }];
  const identifierOf = (path: string): string | undefined => {
    for (const context of describing) {
      const identifies = identifierAt(context, path);
      if (identifies !== undefined) return identifies;
    }
    return undefined;
  };
  const base: CompiledBase = {
    indicator,
    dimensions: (definition.dimensions ?? []).map((path) => {
      const identifies = identifierOf(path);
      return { path, get: fieldGetter(path), ...(identifies === undefined ? {} : { identifies }) };
    }),
    ...(about
      ? { about: 'child' in about ? { child: fieldGetter(about.child) } : { case: fieldGetter(about.case) } }
      : {}),
  };

  const stageOf = (stage: IndicatorStage, role: string): CompiledStage => {
    if (!types.includes(stage.eventType)) {
      throw new ValidationError(
        stage.eventType,
        `${id}.value.${role}`,
        `indicator "${id}": its ${role} stage reads ${stage.eventType}, which filter.eventTypes does not list`,
        'add the type to filter.eventTypes',
        fixDefinition,
      );
    }
    const context = { indicator: id, registry, eventType: stage.eventType };
    for (const condition of stage.where ?? []) checkPath(context, condition.field, `${role} condition`);
    if (stage.dateField) checkPath(context, stage.dateField, `${role} date`);
    return {
      eventType: stage.eventType,
      matches: allOf(stage.where),
      date: fieldGetter(stage.dateField ?? 'metadata.occurredAt'),
    };
  };
  const checkKey = (path: string, stages: readonly IndicatorStage[]) => {
    for (const stage of stages)
      checkPath({ indicator: id, registry, eventType: stage.eventType }, path, 'key');
  };

  switch (value.kind) {
    case 'count':
    case 'sum':
    case 'distinct': {
      if (definition.dateField) checkEverywhere(definition.dateField, 'date field');
      if (value.kind !== 'count') checkEverywhere(value.field, `${value.kind} field`);
      if (value.kind === 'sum')
        for (const context of contexts) checkNumberPath(context, value.field, 'sum field');
      return {
        ...base,
        kind: value.kind,
        eventTypes: new Set(types),
        matches: allOf(definition.filter.where),
        ...(definition.unnest ? { unnest: fieldGetter(definition.unnest) } : {}),
        date: fieldGetter(definition.dateField ?? 'metadata.occurredAt'),
        ...(value.kind === 'count' ? {} : { field: fieldGetter(value.field) }),
      };
    }
    case 'ratio':
      return {
        ...base,
        kind: 'ratio',
        numerator: value.numerator,
        denominator: value.denominator,
        scale: value.scale ?? 1,
      };
    case 'medianDays':
    case 'linked': {
      checkKey(value.by, [value.from, value.to]);
      return {
        ...base,
        kind: value.kind,
        by: fieldGetter(value.by),
        from: stageOf(value.from, 'from'),
        to: [stageOf(value.to, 'to')],
        ...(value.kind === 'linked' && value.withinDays !== undefined
          ? { withinDays: value.withinDays }
          : {}),
      };
    }
    case 'change': {
      checkKey(value.by, [value.from, value.to]);
      for (const stage of [value.from, value.to]) {
        const context = { indicator: id, registry, eventType: stage.eventType };
        checkPath(context, value.field, 'change field');
        checkNumberPath(context, value.field, 'change field');
      }
      return {
        ...base,
        kind: 'change',
        by: fieldGetter(value.by),
        from: stageOf(value.from, 'from'),
        to: [stageOf(value.to, 'to')],
        field: fieldGetter(value.field),
        ...(value.atLeast === undefined ? {} : { atLeast: value.atLeast }),
      };
    }
    case 'active': {
      checkKey(value.by, [value.opens, ...value.closes]);
      return {
        ...base,
        kind: 'active',
        by: fieldGetter(value.by),
        from: stageOf(value.opens, 'opens'),
        to: value.closes.map((stage) => stageOf(stage, 'closes')),
      };
    }
  }
};

export const isFlow = (indicator: CompiledIndicator): indicator is CompiledFlow =>
  indicator.kind === 'count' || indicator.kind === 'sum' || indicator.kind === 'distinct';

export const isKeyed = (indicator: CompiledIndicator): indicator is CompiledKeyed =>
  indicator.kind === 'medianDays' ||
  indicator.kind === 'linked' ||
  indicator.kind === 'change' ||
  indicator.kind === 'active';

/** The event types a set of compiled indicators reads. */
export const eventTypesOf = (indicators: Iterable<CompiledIndicator>): Set<string> => {
  const types = new Set<string>();
  for (const indicator of indicators) {
    if (indicator.kind === 'ratio') continue;
    for (const type of indicator.indicator.definition.filter.eventTypes) types.add(type);
  }
  return types;
};
