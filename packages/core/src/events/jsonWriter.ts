import { isZod } from './schemaKeepsInput.js';

/**
 * JSON text written from a zod schema: a store writes every event's data as text, and on the
 * schema's own output a writer that knows the shape costs about half of what `JSON.stringify` does.
 * Strings the schema confines to an enum, or to a pattern that admits no character JSON
 * escapes, are written between quotes as they are; every other string, and every part of the
 * schema the compiler does not know, goes through `JSON.stringify`, so the text is right
 * whatever the schema holds.
 *
 * The compiler reads zod's definition tree (`schema._zod.def`), as `schemaOutputsJson` does.
 */

/** True when JSON writes the string between quotes as it is: no quote, backslash, control character or lone surrogate. */
export const isPlainJsonString = (text: string): boolean => JSON.stringify(text) === `"${text}"`;

/** What a regular expression may match outside a character class, besides its syntax. */
const plainLiteral = /[A-Za-z0-9_:,=-]/;
/** What may stand alone in a character class: the same characters, and `.` and `+`, which are literal there. */
const plainInClass = /[A-Za-z0-9_:.+-]/;
/** Escapes that stand for plain characters only. */
const plainEscapes = new Set(['d', '.', '-', '+', ':', '_']);

/** True when a class range from `from` to `to` stays within digits, lowercase or uppercase letters. */
const sameRun = (from: string, to: string): boolean =>
  from <= to && ((from >= '0' && to <= '9') || (from >= 'a' && to <= 'z') || (from >= 'A' && to <= 'Z'));

/**
 * True when every string the pattern can match is plain JSON text (`isPlainJsonString`). A
 * conservative reading of the pattern's source: it says yes only to literals and classes of
 * letters, digits and `_ : , = - . +`, the escapes `\d \. \- \+ \: \_`, groups, lookaheads of the
 * same, alternation, anchors and quantifiers. Anything else — `.` outside a class, a negated
 * class, `\w`, `\S`, a range such as `!-~` — answers false, and such strings are escaped.
 */
export const patternMatchesOnlyPlainText = (pattern: RegExp): boolean => {
  const source = pattern.source;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i] as string;
    if (c === '\\') {
      const next = source[i + 1];
      if (next === undefined || !plainEscapes.has(next)) return false;
      i += 1;
      continue;
    }
    if (inClass) {
      if (c === ']') {
        inClass = false;
      } else if (c === '-' && i > 0 && source[i - 1] !== '[' && source[i + 1] !== ']') {
        // A range: both ends plain and in one run (digits, lowercase or uppercase letters).
        const from = source[i - 1] as string;
        const to = source[i + 1] as string;
        if (to === '\\' || !sameRun(from, to)) return false;
        i += 1;
      } else if (!plainInClass.test(c)) {
        return false;
      }
      continue;
    }
    if (c === '[') {
      if (source[i + 1] === '^') return false;
      inClass = true;
    } else if (c === '(') {
      // Groups, non-capturing groups and lookaheads; lookbehinds and named groups are not read.
      if (source[i + 1] === '?') {
        const kind = source[i + 2];
        if (kind !== ':' && kind !== '=' && kind !== '!') return false;
        i += 2;
      }
    } else if ('^$)|?*+{}'.includes(c)) {
      // Syntax; `{n,m}` quantifiers hold digits and a comma, which are plain literals.
    } else if (!plainLiteral.test(c)) {
      return false;
    }
  }
  return !inClass;
};

/** The patterns every valid string of this schema matches: its own and its regex checks'. */
const patternsOf = (def: Readonly<Record<string, unknown>>): RegExp[] => {
  const found: RegExp[] = [];
  if (def.pattern instanceof RegExp) found.push(def.pattern);
  const checks = Array.isArray(def.checks) ? def.checks : [];
  for (const check of checks) {
    if (!isZod(check)) continue;
    const checkDef = check._zod.def;
    // A check that runs only when its `when` says so might not have run on a valid string.
    if (checkDef.when === undefined && checkDef.pattern instanceof RegExp) found.push(checkDef.pattern);
  }
  return found;
};

/** True when every valid string of this schema is written between quotes as it is. */
const plainString = (def: Readonly<Record<string, unknown>>): boolean =>
  patternsOf(def).some(
    (pattern) => !pattern.global && !pattern.sticky && patternMatchesOnlyPlainText(pattern),
  );

const plainEnum = (def: Readonly<Record<string, unknown>>): boolean => {
  const entries = def.entries;
  if (typeof entries !== 'object' || entries === null) return false;
  return Object.values(entries).every((value) => typeof value === 'string' && isPlainJsonString(value));
};

/** A JavaScript string literal of `text`: JSON's string syntax is JavaScript's too. */
const literal = (text: string): string => JSON.stringify(text);

/**
 * A writer for the values `schema` outputs, giving the same text as `JSON.stringify`, or
 * undefined when the schema's output may not be plain JSON in its shape's key order (check
 * `schemaOutputsJson` first: the writer assumes output that passed it), or when this process
 * refuses to compile code (`--disallow-code-generation-from-strings`). Objects must be strict:
 * their output holds exactly the shape's keys, which zod writes in the shape's order.
 *
 * The writer is compiled to straight-line code, as zod compiles its parsers: a function per
 * object and array, one expression per field. Only JSON-quoted key names reach the code.
 */
export const compileJsonWriter = (root: unknown): ((value: unknown) => string) | undefined => {
  const helpers: string[] = [];
  const stack = new Set<object>();
  /** The expression writing the value `at` holds (never undefined), or undefined if not compilable. */
  const expression = (schema: unknown, at: string): string | undefined => {
    if (!isZod(schema)) return undefined;
    // A schema met again inside itself (a recursive one) is written by JSON.stringify.
    if (stack.has(schema)) return `JSON.stringify(${at})`;
    stack.add(schema);
    try {
      const def = schema._zod.def;
      switch (def.type) {
        case 'string':
          return plainString(def) ? `'"' + ${at} + '"'` : `JSON.stringify(${at})`;
        case 'enum':
          return plainEnum(def) ? `'"' + ${at} + '"'` : `JSON.stringify(${at})`;
        case 'number':
          // zod's number refuses NaN and ±Infinity; JSON would write null for them, as this does.
          return `(Number.isFinite(${at}) ? '' + ${at} : 'null')`;
        case 'boolean':
          return `(${at} ? 'true' : 'false')`;
        case 'optional':
          // Only an object's property may be optional in plain output; the object skips it when undefined.
          return expression(def.innerType, at);
        case 'nullable': {
          const inner = expression(def.innerType, at);
          return inner && `(${at} === null ? 'null' : ${inner})`;
        }
        case 'array': {
          const element = expression(def.element, 'x');
          if (!element) return undefined;
          const index = helpers.push('') - 1;
          const name = `w${index}`;
          helpers[index] = [
            `function ${name}(a) {`,
            "  let t = '[';",
            '  for (let i = 0; i < a.length; i++) {',
            '    const x = a[i];',
            "    if (i > 0) t += ',';",
            // JSON writes null for undefined in an array.
            `    t += x === undefined ? 'null' : ${element};`,
            '  }',
            "  return t + ']';",
            '}',
          ].join('\n');
          return `${name}(${at})`;
        }
        case 'object': {
          const catchall = def.catchall;
          if (!isZod(catchall) || catchall._zod.def.type !== 'never') return undefined;
          const shape = def.shape;
          if (typeof shape !== 'object' || shape === null) return undefined;
          const keys = Object.keys(shape);
          // Read by name from the output, `__proto__` would give its prototype.
          if (keys.includes('__proto__')) return undefined;
          const index = helpers.push('') - 1;
          const name = `w${index}`;
          const lines = [`function ${name}(o) {`, "  let t = '{';", '  let first = true;', '  let v;'];
          for (const key of keys) {
            const field = expression((shape as Record<string, unknown>)[key], 'v');
            if (!field) return undefined;
            const prefix = `${JSON.stringify(key)}:`;
            lines.push(
              `  v = o[${literal(key)}];`,
              '  if (v !== undefined) {',
              `    t += (first ? ${literal(prefix)} : ${literal(`,${prefix}`)}) + ${field};`,
              '    first = false;',
              '  }',
            );
          }
          lines.push("  return t + '}';", '}');
          helpers[index] = lines.join('\n');
          return `${name}(${at})`;
        }
        default:
          // Unions, literals, null and the rest: JSON.stringify writes them, as it would have anyway.
          return `JSON.stringify(${at})`;
      }
    } finally {
      stack.delete(schema);
    }
  };
  const body = expression(root, 'value');
  if (body === undefined) return undefined;
  try {
    const source = `'use strict';\n${helpers.join('\n')}\nreturn (value) => ${body};`;
    return new Function(source)() as (value: unknown) => string;
  } catch {
    // Code generation refused: the caller writes with JSON.stringify.
    return undefined;
  }
};
