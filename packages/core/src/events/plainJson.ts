/**
 * What a store keeps of an event or a read-model document is its JSON: a value JSON cannot hold
 * would be kept as something else (a Date as text, NaN as null, a Map as `{}`) or not at all (a
 * BigInt, a cycle). Event data the registry did not build itself, and every document a projection
 * puts, is checked here first, so it is either kept as it is or refused with the field and what to
 * use instead.
 */

/** The first value JSON would not keep as it is: where it is, what it is and what to use instead. */
export interface JsonProblem {
  /** Dotted path from the checked value, e.g. `extra.0.when`; empty for the value itself. */
  readonly path: string;
  readonly rule: string;
  readonly fix: string;
}

const join = (path: string, key: string | number): string => (path === '' ? String(key) : `${path}.${key}`);

const problem = (path: string, rule: string, fix: string): JsonProblem => ({ path, rule, fix });

/** What is wrong with a value that is neither a primitive JSON keeps nor a plain array or object. */
const notPlain = (value: object, path: string): JsonProblem | undefined => {
  if (value instanceof Date) {
    return problem(
      path,
      'is a Date, which JSON keeps only as text',
      'use ISO text instead: date.toISOString()',
    );
  }
  if (value instanceof Map || value instanceof Set) {
    return problem(
      path,
      `is a ${value instanceof Map ? 'Map' : 'Set'}, which JSON keeps as {}`,
      'use a plain object or an array',
    );
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return problem(path, 'has a toJSON method, so JSON would keep something else', 'use what toJSON returns');
  }
  return undefined;
};

/**
 * Why a text cannot be kept alike by every read-model store, or undefined when it can: U+0000,
 * which PostgreSQL holds in neither text nor JSON, or half of a surrogate pair, which UTF-8 cannot
 * hold (SQLite and PostgreSQL would keep something else, so a key would not be found again).
 */
export const unkeepableTextRule = (text: string): string | undefined => {
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    if (unit === 0) return 'holds U+0000 (a NUL character), which PostgreSQL cannot keep';
    if (unit >= 0xd800 && unit <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i += 1;
      else return 'holds half of a surrogate pair, which UTF-8 cannot keep';
    }
  }
  return undefined;
};

/**
 * The text with U+0000 and every half of a surrogate pair replaced by U+FFFD, for diagnostics (a
 * dead letter's error, a failure) that every store must keep whatever a thrown message held.
 */
export const keepableTextOf = (text: string): string =>
  isKeepableText(text)
    ? text
    : (text.replaceAll('\u0000', '\uFFFD') as string & { toWellFormed(): string }).toWellFormed();

/**
 * Sets a field of an object being built from JSON-like data. A field named `__proto__` (JSON text
 * can hold one, and a name may come from data) is defined as the object's own: set, it would
 * change the object's prototype, and the field would be lost.
 */
export const setOwnField = <T>(target: Record<string, T>, key: string, value: T): void => {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else target[key] = value;
};

/**
 * More fields than this and V8 keeps an object built field by field as a dictionary anyway; see
 * {@link copyFields}.
 */
const fewFields = 12;

/**
 * A copy of an object's own fields, each given by `copy` (its name and value), or `undefined` as
 * soon as `copy` gives `undefined` for one. An object of many fields (a page of cells, named by
 * the data) is built without a prototype and given `Object.prototype` at the end: V8 then makes
 * it a dictionary from the start, where an ordinary object filled field by field would first take
 * a hidden class of its own for each of its first fields, which made a copy about three times
 * slower. A field named `__proto__` stays the copy's own.
 */
export const copyFields = (
  value: object,
  copy: (key: string, inner: unknown) => unknown,
): Record<string, unknown> | undefined => {
  const keys = Object.keys(value);
  const many = keys.length > fewFields;
  const out: Record<string, unknown> = many ? Object.create(null) : {};
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const field = copy(key, (value as Record<string, unknown>)[key]);
    if (field === undefined) return undefined;
    setOwnField(out, key, field);
  }
  return many ? Object.setPrototypeOf(out, Object.prototype) : out;
};

/** What to do about such a text. */
export const unkeepableTextFix = 'remove the character, or replace it (with U+FFFD, say)';

/**
 * `unkeepableTextRule` as a yes or no, for the fast check: two native scans, and no scan at all
 * for surrogates in a text V8 holds one byte per character (most texts).
 */
export const isKeepableText = (text: string): boolean =>
  (text as string & { isWellFormed(): boolean }).isWellFormed() && !text.includes('\u0000');

/** Deeper than this, the fast check cannot tell, and leaves the value to the walk that finds cycles. */
const fastDepth = 32;

const plainAt = (value: unknown, depth: number, texts: boolean): boolean => {
  if (typeof value === 'string') return !texts || isKeepableText(value);
  if (typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value !== 'object') return false;
  if (value === null) return true;
  if (depth > fastDepth) return false;
  const prototype = Object.getPrototypeOf(value);
  if (prototype === Array.prototype) {
    if (!Array.isArray(value) || (value as { toJSON?: unknown }).toJSON !== undefined) return false;
    for (let i = 0; i < value.length; i += 1) {
      // A hole reads as undefined too: JSON writes null for both.
      const item: unknown = value[i];
      if (item === undefined || !plainAt(item, depth + 1, texts)) return false;
    }
    return true;
  }
  if (prototype !== Object.prototype && prototype !== null) return false;
  if ((value as { toJSON?: unknown }).toJSON !== undefined) return false;
  // for…in walks every own enumerable key JSON writes (and any inherited one, checked as well).
  for (const key in value) {
    if (texts && !isKeepableText(key)) return false;
    const item = (value as Record<string, unknown>)[key];
    if (item !== undefined && !plainAt(item, depth + 1, texts)) return false;
  }
  return true;
};

/**
 * True when `JSON.parse(JSON.stringify(value))` is sure to give back what `value` holds, judged
 * from the value alone and without allocating: strings, booleans, null, finite numbers, and plain
 * arrays (no holes, no undefined) and plain objects of them (undefined-valued keys, which JSON
 * drops, allowed), with no `toJSON` anywhere. False means "cannot tell" (it is also false for
 * values nested deeper than 32): `jsonProblem` then says whether, and where, something is wrong.
 * It assumes no `toJSON` on the primitives' prototypes.
 */
export const isPlainJson = (value: unknown): boolean => plainAt(value, 0, false);

export interface JsonProblemOptions {
  /**
   * Also refuse a text (a value or a field name) that not every read-model store keeps alike:
   * see `unkeepableTextRule`. For read-model documents; event data is kept as JSON text, which
   * escapes both.
   */
  readonly texts?: boolean;
}

/**
 * The first place in `value` where `JSON.parse(JSON.stringify(value))` would not give back the
 * same value; undefined when it would. An object property that is undefined is allowed: JSON
 * leaves it out, and an absent field reads the same.
 */
export const jsonProblem = (value: unknown, options: JsonProblemOptions = {}): JsonProblem | undefined => {
  const texts = options.texts === true;
  return plainAt(value, 0, texts) ? undefined : findProblem(value, texts);
};

const findProblem = (value: unknown, texts: boolean): JsonProblem | undefined => {
  const ancestors: object[] = [];
  const visit = (current: unknown, path: string): JsonProblem | undefined => {
    switch (typeof current) {
      case 'string': {
        const rule = texts ? unkeepableTextRule(current) : undefined;
        return rule === undefined ? undefined : problem(path, rule, unkeepableTextFix);
      }
      case 'boolean':
        return undefined;
      case 'number':
        return Number.isFinite(current)
          ? undefined
          : problem(path, `is ${String(current)}, which JSON keeps as null`, 'use a finite number, or null');
      case 'bigint':
        return problem(path, 'is a BigInt, which JSON cannot hold', 'use a number or text instead');
      case 'undefined':
        return problem(path, 'is undefined, which JSON keeps as null here', 'use null, or leave it out');
      case 'function':
      case 'symbol':
        return problem(
          path,
          `is a ${typeof current}, which JSON leaves out`,
          'leave it out: only data is kept',
        );
    }
    if (current === null) return undefined;
    const object = current as object;
    if (ancestors.includes(object)) {
      return problem(path, 'refers back to an object that holds it', 'use a tree of values without cycles');
    }
    ancestors.push(object);
    try {
      if (Array.isArray(object)) {
        const odd = notPlain(object, path);
        if (odd) return odd;
        for (let i = 0; i < object.length; i += 1) {
          if (!(i in object)) {
            return problem(join(path, i), 'is a hole in the array, which JSON keeps as null', 'use null');
          }
          const found = visit(object[i], join(path, i));
          if (found) return found;
        }
        return undefined;
      }
      const prototype = Object.getPrototypeOf(object);
      if (prototype !== Object.prototype && prototype !== null) {
        return (
          notPlain(object, path) ??
          problem(
            path,
            typeof prototype?.constructor === 'function' && prototype.constructor !== Object
              ? `is an instance of ${prototype.constructor.name || 'a class'}, not a plain object`
              : 'inherits fields from another object, which JSON leaves out',
            'use a plain object of its own fields',
          )
        );
      }
      const odd = notPlain(object, path);
      if (odd) return odd;
      for (const key of Object.keys(object)) {
        const rule = texts ? unkeepableTextRule(key) : undefined;
        if (rule !== undefined) {
          // Shown escaped, as JSON writes it: the name itself may not print.
          const shown = JSON.stringify(key).slice(1, -1);
          return problem(join(path, shown), `is a field name that ${rule}`, unkeepableTextFix);
        }
        const field = (object as Record<string, unknown>)[key];
        if (field === undefined) continue;
        const found = visit(field, join(path, key));
        if (found) return found;
      }
      return undefined;
    } finally {
      ancestors.pop();
    }
  };
  return visit(value, '');
};
