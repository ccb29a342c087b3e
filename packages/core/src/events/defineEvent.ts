import { v7 as uuidv7 } from 'uuid';
import { compile, type z } from 'zod';
import { ValidationError } from '../errors/errors.js';
import {
  checkProtection,
  type EventProtection,
  plaintextParser,
  unprotectedTextFields,
} from '../privacy/protectedFields.js';
import type { DomainEvent, MetadataInput, NewEvent } from './envelope.js';

/** Turns data written under an older schema version into the next version's shape. */
export interface Upcaster {
  /** The version this upcaster reads; it produces `fromVersion + 1`. */
  readonly fromVersion: number;
  /** The schema data had at `fromVersion`; data is checked against it before upcasting. */
  readonly schema: z.ZodType;
  readonly up: (data: never) => unknown;
}

export interface EventDefinition<TType extends string = string, TData = unknown> {
  readonly type: TType;
  /** The current schema version; events are appended at this version. */
  readonly schemaVersion: number;
  readonly schema: z.ZodType<TData>;
  readonly upcasters: readonly Upcaster[];
  /**
   * Which fields are protected (sealed with the subject child's data key before they are
   * stored), or undefined when none are. `parse` and stores accept only their sealed form;
   * `create` and `toNew` also accept plaintext, which `createProtectedEventStore` seals.
   */
  readonly protection?: EventProtection | undefined;
  /** Validates data against the current schema; throws ValidationError naming the field and rule. */
  parse(data: unknown): TData;
  /** Brings data written at `version` to the current version, validating each step. */
  upcast(data: unknown, version: number): TData;
  /** A validated domain event of this type. */
  create(data: TData): DomainEvent<TType, TData>;
  /** A validated event ready to append, with a fresh uuid v7 id unless one is given. */
  toNew(data: TData, metadata: MetadataInput, id?: string): NewEvent<TType, TData>;
  is(event: DomainEvent): event is DomainEvent<TType, TData>;
}

/** The data type of an event definition. */
export type EventData<TDefinition> = TDefinition extends EventDefinition<string, infer TData> ? TData : never;
/** The domain event type of an event definition. */
export type EventOf<TDefinition> =
  TDefinition extends EventDefinition<infer TType, infer TData> ? DomainEvent<TType, TData> : never;

/** Converts zod's first issue into Lantern's ValidationError. */
export const validationErrorFrom = (
  eventType: string,
  error: z.ZodError,
  pathPrefix = 'data',
): ValidationError => {
  const issue = error.issues[0];
  if (!issue) return new ValidationError(eventType, pathPrefix, 'invalid');
  const path = [pathPrefix, ...issue.path.map(String)].filter((p) => p !== '').join('.');
  return new ValidationError(eventType, path, issue.message);
};

export interface DefineEventOptions<TType extends string, TSchema extends z.ZodType> {
  type: TType;
  /** Defaults to 1, or one more than the last upcaster's `fromVersion`. */
  schemaVersion?: number;
  schema: TSchema;
  /** Oldest first; each reads `fromVersion` and returns data of `fromVersion + 1`. */
  upcasters?: readonly Upcaster[];
  /**
   * The event's protected fields (each declared with `protectedText({ max })`) and the field
   * holding the childRef whose key seals them. Default: none.
   */
  protection?: EventProtection;
}

/**
 * Defines an event type once: its name (PascalCase, past tense), its zod schema and its schema
 * version. The TypeScript type of its data is inferred from the schema.
 */
export const defineEvent = <TType extends string, TSchema extends z.ZodType>(
  options: DefineEventOptions<TType, TSchema>,
): EventDefinition<TType, z.infer<TSchema>> => {
  type TData = z.infer<TSchema>;
  const { type, schema } = options;
  const upcasters = [...(options.upcasters ?? [])].sort((a, b) => a.fromVersion - b.fromVersion);
  const schemaVersion =
    options.schemaVersion ?? (upcasters.length > 0 ? (upcasters.at(-1)?.fromVersion ?? 0) + 1 : 1);
  if (!/^[A-Z][A-Za-z0-9]+$/.test(type)) {
    throw new TypeError(`Event type "${type}" must be PascalCase, e.g. ChildPlacedSafely.`);
  }
  upcasters.forEach((upcaster, index) => {
    const expected = schemaVersion - upcasters.length + index;
    if (upcaster.fromVersion !== expected) {
      throw new TypeError(
        `${type}: upcasters must cover every version from ${schemaVersion - upcasters.length} to ${schemaVersion - 1} in order; found fromVersion ${upcaster.fromVersion} where ${expected} was expected.`,
      );
    }
  });

  // zod's own compiled parser, built on first use: it accepts, rejects and reports exactly as the
  // schema does (it hands every input it does not pass to the schema's parser), at a fraction of the cost.
  let compiled: z.ZodType | undefined;
  const parse = (data: unknown): TData => {
    compiled ??= compile(schema as z.ZodType);
    const result = compiled.safeParse(data);
    if (!result.success) throw validationErrorFrom(type, result.error);
    return result.data as TData;
  };

  const upcast = (data: unknown, version: number): TData => {
    if (!Number.isInteger(version) || version < 1 || version > schemaVersion) {
      throw new ValidationError(
        type,
        'metadata.schemaVersion',
        `version ${version} is unknown; this build reads versions 1 to ${schemaVersion}`,
        'upgrade Lantern to read events written by a newer version',
      );
    }
    let current = data;
    for (const upcaster of upcasters) {
      if (upcaster.fromVersion < version) continue;
      const result = upcaster.schema.safeParse(current);
      if (!result.success) throw validationErrorFrom(type, result.error);
      current = upcaster.up(result.data as never);
    }
    return parse(current);
  };

  // Protected fields: checked against the schema once, here; apps write them as plaintext.
  const rules = options.protection ? checkProtection(type, schema, options.protection) : undefined;
  const forgotten = rules ? [] : unprotectedTextFields(schema);
  if (forgotten.length > 0) {
    throw new TypeError(
      `${type}: ${forgotten.join(', ')} ${forgotten.length > 1 ? 'are protectedText fields' : 'is a protectedText field'}; list ${forgotten.length > 1 ? 'them' : 'it'} in protection.fields, with the subject field holding the childRef.`,
    );
  }
  const protection: EventProtection | undefined = options.protection && {
    subject: options.protection.subject,
    fields: Object.freeze([...options.protection.fields]),
  };
  const parseInput = rules ? plaintextParser(type, rules, parse) : parse;

  return {
    type,
    schemaVersion,
    protection,
    schema: schema as z.ZodType<TData>,
    upcasters,
    parse,
    upcast,
    create: (data) => ({ type, data: parseInput(data) }),
    toNew: (data, metadata, id) => ({
      id: id ?? uuidv7(),
      type,
      data: parseInput(data),
      metadata: { ...metadata, schemaVersion },
    }),
    is: (event): event is DomainEvent<TType, TData> => event.type === type,
  };
};
