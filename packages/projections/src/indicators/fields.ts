import type { EventRegistry, RecordedEvent } from '@lantern/core';
import { caseId, defaultAccessPolicy, pseudonymPrefixes, ValidationError } from '@lantern/core';
import { fixDefinition } from '../advice.js';

/**
 * Field paths in indicator definitions: `data.area`, `metadata.occurredAt`, and, when the
 * indicator unnests an array, `item` (the element) or `item.count` (a field of it).
 */

/** What a path is read from: the event's data and metadata, and the element being counted. */
export interface FieldSource {
  readonly data: unknown;
  readonly metadata: unknown;
  readonly item?: unknown;
}

export type FieldGetter = (source: FieldSource) => unknown;

/** Compiles a dotted path into a getter; undefined wherever the path leads nowhere. */
export const fieldGetter = (path: string): FieldGetter => {
  const [root, ...rest] = path.split('.');
  return (source) => {
    let value: unknown =
      root === 'data'
        ? source.data
        : root === 'metadata'
          ? source.metadata
          : root === 'item'
            ? source.item
            : undefined;
    for (const key of rest) {
      if (typeof value !== 'object' || value === null) return undefined;
      value = (value as Record<string, unknown>)[key];
    }
    return value;
  };
};

/** What an event's fields are read from: the event itself (it has `data` and `metadata`), or with an element. */
export const sourceOf = (event: RecordedEvent, item?: unknown): FieldSource =>
  item === undefined ? event : { data: event.data, metadata: event.metadata, item };

interface ZodNode {
  readonly _zod: { readonly def: { readonly type: string; readonly [key: string]: unknown } };
}

const isZod = (value: unknown): value is ZodNode =>
  typeof value === 'object' && value !== null && '_zod' in value;

/** Wrappers that do not change the shape of what they hold. */
const shapeKeeping = new Set([
  'optional',
  'nullable',
  'default',
  'prefault',
  'readonly',
  'catch',
  'nonoptional',
]);

/** Looks through wrappers that do not change the shape: optional, nullable, default, readonly, catch. */
const unwrap = (node: ZodNode): ZodNode => {
  let current = node;
  for (;;) {
    const { def } = current._zod;
    const inner = def.innerType;
    if (shapeKeeping.has(def.type) && isZod(inner)) {
      current = inner;
    } else return current;
  }
};

/** The schema a path leads to inside `root`, or undefined when no field has that name. */
const schemaAt = (root: ZodNode, keys: readonly string[]): ZodNode[] => {
  let nodes = [unwrap(root)];
  for (const key of keys) {
    const next: ZodNode[] = [];
    for (const node of nodes) {
      const { def } = node._zod;
      if (def.type === 'object') {
        const shape = def.shape as Record<string, unknown>;
        const field = shape[key];
        if (isZod(field)) next.push(unwrap(field));
      } else if (def.type === 'union') {
        for (const option of def.options as unknown[]) {
          if (isZod(option)) next.push(...schemaAt(option, [key]));
        }
      }
    }
    nodes = next;
    if (nodes.length === 0) return [];
  }
  return nodes;
};

/** Metadata fields any event carries. */
const metadataFields = new Set(['occurredAt', 'recordedBy', 'correlationId', 'causationId', 'schemaVersion']);

export interface PathContext {
  readonly indicator: string;
  readonly registry: EventRegistry;
  readonly eventType: string;
  /** The array the indicator unnests, when it does. */
  readonly unnest?: string;
}

/** The element schema of the array the indicator unnests. */
const unnestedElements = (context: PathContext): ZodNode[] => {
  if (!context.unnest) return [];
  const definition = context.registry.get(context.eventType);
  if (!definition) return [];
  const [, ...keys] = context.unnest.split('.');
  return schemaAt(definition.schema as unknown as ZodNode, keys)
    .filter((node) => node._zod.def.type === 'array')
    .map((node) => unwrap(node._zod.def.element as ZodNode));
};

/**
 * The protected field `path` names in `eventType` (`data.narrative`, or a part of it such as
 * `data.narrative.ct`), or undefined. Protected fields are top-level data fields.
 */
export const protectedFieldAt = (
  registry: EventRegistry,
  eventType: string,
  path: string,
): string | undefined => {
  const [root, field] = path.split('.');
  if (root !== 'data' || field === undefined) return undefined;
  return registry.get(eventType)?.protection?.fields.includes(field) ? field : undefined;
};

/**
 * Refuses a path that names a protected field of `eventType`: free text about a child is sealed
 * with the child's key, and no indicator may count it, break a figure down by it, filter on it
 * or date by it — not even whether it is there.
 */
export const refuseProtectedField = (
  context: Pick<PathContext, 'indicator' | 'registry' | 'eventType'>,
  path: string,
  role: string,
): void => {
  const field = protectedFieldAt(context.registry, context.eventType, path);
  if (field === undefined) return;
  throw new ValidationError(
    context.eventType,
    path,
    `indicator "${context.indicator}": its ${role} names "${field}", a protected field of ${context.eventType}`,
    'a protected field (free text about a child, sealed with the child’s key) may never be counted, broken down or filtered on; remove it from the definition',
    fixDefinition,
  );
};

/**
 * Checks, before any event is read, that `path` names a field of `eventType` (or of the element
 * it unnests) and not a protected one; a ValidationError names the indicator, the path and what
 * exists instead.
 */
export const checkPath = (context: PathContext, path: string, role: string): void => {
  refuseProtectedField(context, path, role);
  const [root, ...keys] = path.split('.');
  const fail = (why: string): never => {
    throw new ValidationError(
      context.eventType,
      path,
      `indicator "${context.indicator}": its ${role} ${why}`,
      'name a field of the event type as data.<field> (or metadata.occurredAt, or item.<field> of the unnested array)',
      fixDefinition,
    );
  };
  const definition = context.registry.get(context.eventType);
  if (!definition) fail('reads an event type the registry does not know');
  if (root === 'metadata') {
    if (keys.length !== 1 || !metadataFields.has(keys[0] as string))
      fail(`"${path}" is not a metadata field`);
    return;
  }
  if (root === 'data') {
    if (keys.length === 0 || schemaAt(definition?.schema as unknown as ZodNode, keys).length === 0) {
      fail(`"${path}" is not a field of ${context.eventType}`);
    }
    return;
  }
  if (root === 'item') {
    const elements = unnestedElements(context);
    if (elements.length === 0)
      fail(`"${path}" reads an element, but the indicator unnests no array of ${context.eventType}`);
    if (keys.length > 0 && !elements.some((element) => schemaAt(element, keys).length > 0)) {
      fail(`"${path}" is not a field of the elements of ${context.unnest}`);
    }
    return;
  }
  fail(`"${path}" must start with data., metadata. or item`);
};

/** What each pseudonym prefix names, for messages. */
const pseudonymNames: Readonly<Record<string, string>> = {
  [pseudonymPrefixes.child]: 'a child pseudonym',
  [pseudonymPrefixes.household]: 'a household pseudonym',
  [pseudonymPrefixes.staff]: 'a staff pseudonym',
  [pseudonymPrefixes.donor]: 'a donor pseudonym',
  [pseudonymPrefixes.agency]: 'an agency pseudonym',
};

/** The patterns a text field's schema checks it against, if it is a text field. */
const patternsOf = (node: ZodNode): RegExp[] => {
  const { def } = node._zod;
  if (def.type !== 'string') return [];
  return ((def.checks as unknown[] | undefined) ?? []).flatMap((check) => {
    const pattern = (check as { _zod?: { def?: { pattern?: unknown } } })._zod?.def?.pattern;
    return pattern instanceof RegExp ? [pattern] : [];
  });
};

/** What a schema's values identify (a person, a case, an event), or undefined. */
const identifiedBy = (node: ZodNode): string | undefined => {
  const { def } = node._zod;
  // A union identifies when one of its options does (a child's or a household's pseudonym); a
  // pipe (a transform) by what goes in or comes out.
  const inner =
    def.type === 'union' ? (def.options as unknown[]) : def.type === 'pipe' ? [def.in, def.out] : [];
  for (const option of inner) {
    const found = isZod(option) ? identifiedBy(unwrap(option)) : undefined;
    if (found !== undefined) return found;
  }
  for (const pattern of patternsOf(node)) {
    const prefix = /^\^([a-z]{2})_/.exec(pattern.source)?.[1];
    if (prefix !== undefined && pseudonymNames[prefix] !== undefined) return pseudonymNames[prefix];
    if (pattern.source === caseIdPattern) return 'a case number';
  }
  return undefined;
};

const caseIdPattern = patternsOf(caseId as unknown as ZodNode)[0]?.source;

/** Metadata fields whose every value names a person or an event. */
const identifyingMetadata: Readonly<Record<string, string>> = {
  recordedBy: 'a staff pseudonym',
  correlationId: 'an event id',
  causationId: 'an event id',
};

/**
 * What `path` holds when its values name someone or something one by one — a child's, a
 * household's or a staff member's pseudonym, a case number, an event id — or undefined. A
 * breakdown by such a field gives one row per person or case: outside the programme it would hand
 * out pseudonyms and case numbers, and figures about one child.
 */
export const identifierAt = (context: PathContext, path: string): string | undefined => {
  const [root, ...keys] = path.split('.');
  if (root === 'metadata') return keys.length === 1 ? identifyingMetadata[keys[0] as string] : undefined;
  for (const node of schemasAt(context, path)) {
    const identifies = identifiedBy(node);
    if (identifies !== undefined) return identifies;
  }
  // By name: the fields that tie an event to a child (the access policy's: a referral's id holds
  // its case's number), and the principal an audit entry names.
  const last = keys.at(-1);
  if (last !== undefined && defaultAccessPolicy.childLinkFields.includes(last)) {
    return 'a reference that ties it to a child';
  }
  if (keys.length >= 2 && keys.at(-2) === 'principal' && last === 'id') return 'a staff or donor pseudonym';
  // What an audit entry acted on: a case's stream, a child's pseudonym.
  if (context.eventType === 'AuditRecorded' && path === 'data.target') return 'a case or a child read';
  return undefined;
};

/** The schemas `path` may lead to in `eventType` (or its unnested elements). */
const schemasAt = (context: PathContext, path: string): ZodNode[] => {
  const [root, ...keys] = path.split('.');
  if (root === 'data')
    return schemaAt(context.registry.get(context.eventType)?.schema as unknown as ZodNode, keys);
  if (root === 'item') {
    return unnestedElements(context).flatMap((element) =>
      keys.length === 0 ? [element] : schemaAt(element, keys),
    );
  }
  return [];
};

/**
 * Checks that `path`, a field already known to exist (`checkPath`), holds a number: what a sum
 * adds up and a change compares. A text or a list would read as nothing, silently.
 */
export const checkNumberPath = (context: PathContext, path: string, role: string): void => {
  const [root, field] = path.split('.');
  const numeric =
    root === 'metadata'
      ? field === 'schemaVersion'
      : schemasAt(context, path).some((node) => node._zod.def.type === 'number');
  if (numeric) return;
  throw new ValidationError(
    context.eventType,
    path,
    `indicator "${context.indicator}": its ${role} "${path}" does not hold a number in ${context.eventType}`,
    'name a numeric field (a count, a quantity, a score), or count the events instead',
    fixDefinition,
  );
};

/** Checks that `path` is an array field of `eventType`, for `unnest`. */
export const checkArrayPath = (context: PathContext, path: string): void => {
  refuseProtectedField(context, path, 'unnest');
  const definition = context.registry.get(context.eventType);
  const [root, ...keys] = path.split('.');
  const arrays =
    root === 'data' && definition
      ? schemaAt(definition.schema as unknown as ZodNode, keys).filter(
          (node) => node._zod.def.type === 'array',
        )
      : [];
  if (arrays.length === 0) {
    throw new ValidationError(
      context.eventType,
      path,
      `indicator "${context.indicator}": unnest must name an array field of ${context.eventType}`,
      'use a data.<field> that holds a list, such as data.contacts or data.items',
      fixDefinition,
    );
  }
};
