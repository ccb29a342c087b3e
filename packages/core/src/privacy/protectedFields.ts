import { z } from 'zod';
import { ValidationError } from '../errors/errors.js';

/**
 * Protected fields: free text about a child (a disclosure's narrative, a caregiver's contact, a
 * placement's address) is sealed with the child's data key before it reaches a store, and stored
 * only in its sealed form. Through `createProtectedEventStore` it reads back as the plaintext,
 * or as a redaction marker when it cannot or may not be read.
 */

/**
 * A protected field as stored: AES-256-GCM ciphertext under the child's data key, bound to its
 * event (id and type) and field name. Every part is base64url without padding; `iv` is 12
 * bytes, `tag` 16 bytes.
 */
export interface SealedField {
  readonly alg: 'A256GCM';
  readonly iv: string;
  readonly tag: string;
  readonly ct: string;
}

/**
 * Why a protected field reads back without its text: `erased` (the child's data was erased and
 * its key shredded), `no-key` (no key for the child, or the key store could not be reached),
 * `tampered` (the ciphertext does not authenticate: altered, moved from another event or field,
 * or sealed under another key), `not-permitted` (the reader's role may not see it).
 */
export const redactionReasons = ['erased', 'no-key', 'tampered', 'not-permitted'] as const;
export type RedactionReason = (typeof redactionReasons)[number];

/** What a protected field reads back as when its text is not given. */
export interface Redacted {
  readonly redacted: RedactionReason;
}

/**
 * A protected field's value: plaintext when an app writes it (and when the protecting store
 * reads it back), `SealedField` as stored, `Redacted` when its text is not given.
 */
export type ProtectedText = string | SealedField | Redacted;

/** True when a value is a redaction marker. */
export const isRedacted = (value: unknown): value is Redacted =>
  typeof value === 'object' &&
  value !== null &&
  (redactionReasons as readonly unknown[]).includes((value as { redacted?: unknown }).redacted) &&
  Object.keys(value).length === 1;

/** A redaction marker (frozen: one per reason is enough). */
const markers: Readonly<Record<RedactionReason, Redacted>> = Object.freeze({
  erased: Object.freeze({ redacted: 'erased' }),
  'no-key': Object.freeze({ redacted: 'no-key' }),
  tampered: Object.freeze({ redacted: 'tampered' }),
  'not-permitted': Object.freeze({ redacted: 'not-permitted' }),
});
export const redacted = (reason: RedactionReason): Redacted => {
  const marker = markers[reason];
  if (!marker)
    throw new TypeError(
      `"${String(reason)}" is not a redaction reason; use one of ${redactionReasons.join(', ')}.`,
    );
  return marker;
};

const base64url = (bytes: number) => new RegExp(`^[A-Za-z0-9_-]{${Math.ceil((bytes * 4) / 3)}}$`);
const sealedMessage =
  'is a protected field: it is stored only sealed (encrypted with the child’s key), never as plaintext; append through createProtectedEventStore, which seals it';

const sealedSchema = (maxChars: number) => {
  // UTF-8 takes at most 3 bytes per UTF-16 code unit; base64url takes 4 characters per 3 bytes.
  const maxCiphertext = Math.ceil((maxChars * 3 * 4) / 3);
  return z.strictObject(
    {
      alg: z.literal('A256GCM', { error: 'must be A256GCM, the only algorithm Lantern seals with' }),
      iv: z.string().regex(base64url(12), 'must be a 12-byte iv in base64url'),
      tag: z.string().regex(base64url(16), 'must be a 16-byte GCM tag in base64url'),
      ct: z
        .string()
        .regex(/^[A-Za-z0-9_-]+$/, 'must be ciphertext in base64url')
        .max(maxCiphertext, `must be at most ${maxCiphertext} characters of ciphertext`),
    },
    { error: (issue) => (issue.code === 'invalid_type' ? sealedMessage : undefined) },
  );
};

/** Any sealed field, whatever its length. */
const anySealed = sealedSchema(1_000_000);

/** True when a value has the shape of a sealed field (it may still fail to open). */
export const isSealedField = (value: unknown): value is SealedField => anySealed.safeParse(value).success;

/** What the plaintext of a protected field must be before it is sealed. */
export interface PlaintextRule {
  /** At most this many characters (UTF-16 code units, as `string.length` counts them). */
  readonly max: number;
}

const plaintextRules = new WeakMap<object, PlaintextRule>();

export interface ProtectedTextOptions {
  /** The longest plaintext accepted, in characters; checked before sealing. Required. */
  max: number;
}

/**
 * A protected free-text field for an event schema. Stores accept only its sealed form, so
 * plaintext sent to a plain store is refused with a ValidationError; list the field in the
 * event's `protection` and append through `createProtectedEventStore`, which checks the
 * plaintext against `max` and seals it. `create`/`toNew` accept the plaintext.
 */
export const protectedText = (options: ProtectedTextOptions): z.ZodType<ProtectedText> => {
  const max = options?.max;
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new TypeError(
      `protectedText needs max, a whole number of characters of 1 or more; got ${String(max)}.`,
    );
  }
  const schema = sealedSchema(max);
  plaintextRules.set(schema, { max });
  return schema as unknown as z.ZodType<ProtectedText>;
};

/** Which fields of an event are protected, and whose key seals them. */
export interface EventProtection {
  /** The data field holding the childRef whose data key seals the fields. */
  readonly subject: string;
  /** Top-level data fields that are protected; each must be a `protectedText` field. */
  readonly fields: readonly string[];
}

type ZodDef = Readonly<Record<string, unknown>>;
const defOf = (schema: unknown): ZodDef | undefined =>
  (schema as { _zod?: { def?: ZodDef } } | undefined)?._zod?.def;

/** The shape of an object schema (refined or not), or undefined for anything else. */
const shapeOf = (schema: unknown): Readonly<Record<string, unknown>> | undefined => {
  const def = defOf(schema);
  if (def?.type === 'object') return def.shape as Readonly<Record<string, unknown>>;
  if (def?.type === 'pipe') return shapeOf(def.in);
  return undefined;
};

/** The plaintext rule of a `protectedText` field (optional or nullable or not), if it is one. */
const ruleOf = (schema: unknown): PlaintextRule | undefined => {
  const def = defOf(schema);
  if (def?.type === 'optional' || def?.type === 'nullable') return ruleOf(def.innerType);
  return typeof schema === 'object' && schema !== null ? plaintextRules.get(schema) : undefined;
};

/** The plaintext rule of each protected field of an event. */
export type ProtectedFieldRules = ReadonlyMap<string, PlaintextRule>;

/**
 * Checks an event's `protection` against its schema when the event is defined: the subject and
 * every field exist, every listed field is a `protectedText`, and no `protectedText` field is
 * left out. Returns each field's plaintext rule.
 */
export const checkProtection = (
  type: string,
  schema: unknown,
  protection: EventProtection,
): ProtectedFieldRules => {
  const shape = shapeOf(schema);
  const where = `${type}: protection`;
  if (!shape) throw new TypeError(`${where} needs an object schema (z.strictObject) to name fields in.`);
  const { subject, fields } = protection ?? ({} as EventProtection);
  if (typeof subject !== 'string' || !Object.hasOwn(shape, subject)) {
    throw new TypeError(
      `${where}.subject "${String(subject)}" is not a field of the schema; name the field holding the childRef.`,
    );
  }
  if (!Array.isArray(fields) || fields.length === 0) {
    throw new TypeError(`${where}.fields must list at least one protected field.`);
  }
  const rules = new Map<string, PlaintextRule>();
  for (const field of fields) {
    if (typeof field !== 'string' || !Object.hasOwn(shape, field)) {
      throw new TypeError(
        `${where}.fields names "${String(field)}", which is not a top-level field of the schema.`,
      );
    }
    if (rules.has(field)) throw new TypeError(`${where}.fields lists "${field}" twice.`);
    const rule = ruleOf(shape[field]);
    if (!rule) {
      throw new TypeError(
        `${where}.fields names "${field}", which is not a protectedText field; declare it with protectedText({ max }).`,
      );
    }
    rules.set(field, rule);
  }
  if (rules.has(subject))
    throw new TypeError(`${where}: the subject "${subject}" cannot itself be protected.`);
  for (const [field, fieldSchema] of Object.entries(shape)) {
    if (ruleOf(fieldSchema) && !rules.has(field)) {
      throw new TypeError(
        `${type}: "${field}" is a protectedText field but is not listed in protection.fields; list it.`,
      );
    }
  }
  return rules;
};

/** Finds protectedText fields an event declares without `protection` (none may be). */
export const unprotectedTextFields = (schema: unknown): string[] => {
  const shape = shapeOf(schema);
  return shape
    ? Object.entries(shape)
        .filter(([, s]) => ruleOf(s))
        .map(([field]) => field)
    : [];
};

/** Checks a protected field's plaintext before it is sealed; throws ValidationError naming the field. */
export const checkPlaintext = (type: string, field: string, rule: PlaintextRule, value: string): void => {
  if (value.length === 0) {
    throw new ValidationError(
      type,
      `data.${field}`,
      'must not be empty',
      'leave the field out when there is nothing to record',
    );
  }
  if (value.length > rule.max) {
    throw new ValidationError(type, `data.${field}`, `must be at most ${rule.max} characters`);
  }
};

/** Stands in for plaintext while the rest of an event is validated against its stored schema. */
const standIn: SealedField = Object.freeze({
  alg: 'A256GCM',
  iv: 'AAAAAAAAAAAAAAAA',
  tag: 'AAAAAAAAAAAAAAAAAAAAAA',
  ct: 'AA',
});

/**
 * A parser for data as an app writes it: protected fields may hold plaintext (checked against
 * their rule) or a sealed value; everything else is validated by `parse`, the stored schema.
 */
export const plaintextParser =
  <TData>(
    type: string,
    rules: ProtectedFieldRules,
    parse: (data: unknown) => TData,
  ): ((data: unknown) => TData) =>
  (data) => {
    if (typeof data !== 'object' || data === null || Array.isArray(data)) return parse(data);
    const record = data as Record<string, unknown>;
    const plaintexts: [string, string][] = [];
    for (const [field, rule] of rules) {
      const value = Object.hasOwn(record, field) ? record[field] : undefined;
      if (typeof value !== 'string') continue;
      checkPlaintext(type, field, rule, value);
      plaintexts.push([field, value]);
    }
    if (plaintexts.length === 0) return parse(data);
    const parsed = parse({ ...record, ...Object.fromEntries(plaintexts.map(([field]) => [field, standIn])) });
    return { ...(parsed as object), ...Object.fromEntries(plaintexts) } as TData;
  };
