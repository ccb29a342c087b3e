import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { eventCatalog } from './catalog.js';
import { compileJsonWriter, isPlainJsonString, patternMatchesOnlyPlainText } from './jsonWriter.js';
import { schemaOutputsJson } from './schemaKeepsInput.js';

type Def = Readonly<Record<string, unknown>> & { type: string };
const defOf = (schema: unknown): Def => (schema as { _zod: { def: Def } })._zod.def;

/** Every pattern a string schema inside `schema` applies. */
const patternsIn = (schema: unknown, found = new Set<RegExp>(), seen = new Set<unknown>()): Set<RegExp> => {
  if (seen.has(schema)) return found;
  seen.add(schema);
  const def = defOf(schema);
  if (def.pattern instanceof RegExp) found.add(def.pattern);
  for (const check of (def.checks ?? []) as unknown[]) {
    const pattern = defOf(check).pattern;
    if (pattern instanceof RegExp) found.add(pattern);
  }
  const children = [
    def.innerType,
    def.element,
    ...Object.values((def.shape ?? {}) as object),
    ...((def.options ?? []) as unknown[]),
  ];
  for (const child of children) if (child !== undefined) patternsIn(child, found, seen);
  return found;
};

const hostile = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.constantFrom('"', '\\', '\n', '\u0000', '\u2028', '\ud800', 'é', 'say "hi"'),
);

/**
 * Values shaped like a schema's output: strings from its patterns (or anything, quotes and lone
 * surrogates included), enum members, numbers, arrays and objects with optional keys present or
 * not. Many break a refinement; the tests keep those the schema accepts.
 */
const valuesOf = (schema: unknown, depth = 0): fc.Arbitrary<unknown> => {
  const def = defOf(schema);
  switch (def.type) {
    case 'string': {
      const patterns = [...patternsIn(schema)];
      const pattern = patterns[0];
      if (!pattern) return fc.oneof(hostile, fc.constantFrom('Asia/Phnom_Penh'));
      // fast-check cannot generate from a lookahead: generate without it, and let the parse filter.
      return fc.stringMatching(new RegExp(pattern.source.replace(/\(\?[=!][^)]*\)/g, ''), pattern.flags));
    }
    case 'enum':
      return fc.constantFrom(...Object.values(def.entries as object));
    case 'literal':
      return fc.constantFrom(...(def.values as unknown[]));
    case 'number':
      return fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.double({ min: 0, max: 999, noNaN: true }));
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'optional':
      return fc.option(valuesOf(def.innerType, depth), { nil: undefined });
    case 'nullable':
      return fc.option(valuesOf(def.innerType, depth), { nil: null });
    case 'array':
      return depth > 3 ? fc.constant([]) : fc.array(valuesOf(def.element, depth + 1), { maxLength: 4 });
    case 'union':
      return fc.oneof(...(def.options as unknown[]).map((option) => valuesOf(option, depth)));
    case 'object': {
      const shape = def.shape as Record<string, unknown>;
      const entries = Object.entries(shape).map(([key, value]) => [key, valuesOf(value, depth + 1)] as const);
      return fc.record(Object.fromEntries(entries), {
        requiredKeys: Object.keys(shape).filter((key) => defOf(shape[key]).type !== 'optional'),
      });
    }
    default:
      return fc.anything();
  }
};

describe('reading a pattern for plain JSON text', () => {
  it('says yes to the shapes the catalog uses', () => {
    for (const pattern of [
      /^ch_[0-9a-f]{16,64}$/,
      /^[a-z0-9][a-z0-9-]{0,62}$/,
      /^[A-Z]{2}(-[0-9A-Z]{1,4}){0,3}$/,
      /^[A-Z]{3}$/,
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/,
      z.uuid()._zod.def.pattern as RegExp,
      z.iso.date()._zod.def.pattern as RegExp,
      z.iso.datetime({ offset: true })._zod.def.pattern as RegExp,
    ]) {
      expect(patternMatchesOnlyPlainText(pattern), pattern.source).toBe(true);
    }
  });

  it('says no to anything that might match a character JSON escapes', () => {
    for (const pattern of [
      /^.{3}$/,
      /^[^a]+$/,
      /^\S+$/,
      /^\w+$/,
      /^[!-~]+$/,
      /^[ -z]$/,
      /^\u0022$/,
      /^\x22$/,
      /^a"b$/,
      /^a\\b$/,
      /^(?<=a)b$/,
      /^(?<name>a)$/,
      /^\p{L}+$/u,
      /^[0-z]$/,
    ]) {
      expect(patternMatchesOnlyPlainText(pattern), pattern.source).toBe(false);
    }
  });

  it('is right about every pattern of the catalog it says yes to', () => {
    const patterns = new Set<RegExp>();
    for (const definition of Object.values(eventCatalog)) patternsIn(definition.schema, patterns);
    const plain = [...patterns].filter(patternMatchesOnlyPlainText);
    // The catalog's pseudonyms, slugs, area codes, dates, instants and uuids are all plain.
    expect(plain.length).toBeGreaterThanOrEqual(8);
    for (const pattern of plain) {
      fc.assert(
        fc.property(fc.stringMatching(pattern), (matched) => {
          expect(isPlainJsonString(matched)).toBe(true);
        }),
        { numRuns: 300 },
      );
    }
  });
});

describe('a JSON writer compiled from a schema', () => {
  const written = Object.values(eventCatalog).filter((definition) => schemaOutputsJson(definition.schema));

  it('compiles for every catalog event whose output is plain JSON', () => {
    expect(written.length).toBeGreaterThan(10);
    for (const definition of written) {
      expect(compileJsonWriter(definition.schema), definition.type).toBeTypeOf('function');
    }
  });

  it('writes exactly what JSON.stringify writes, for every catalog event it compiles for', () => {
    let accepted = 0;
    for (const definition of written) {
      const write = compileJsonWriter(definition.schema) as (value: unknown) => string;
      fc.assert(
        fc.property(valuesOf(definition.schema), (value) => {
          const parsed = definition.schema.safeParse(value);
          if (!parsed.success) return;
          accepted += 1;
          expect(write(parsed.data)).toBe(JSON.stringify(parsed.data));
        }),
        { numRuns: 150 },
      );
    }
    // The generators reach valid data of most types, not just a few.
    expect(accepted).toBeGreaterThan(written.length * 30);
  });

  it('escapes strings with no plain pattern, writes null for undefined in arrays, and skips undefined keys', () => {
    const schema = z.strictObject({
      note: z.string(),
      code: z.string().regex(/^[A-Z]{2}$/),
      tags: z.array(z.enum(['a', 'b"c'])),
      maybe: z.number().optional(),
      either: z.union([z.string(), z.number()]),
      none: z.string().nullable(),
      flag: z.boolean(),
    });
    const write = compileJsonWriter(schema) as (value: unknown) => string;
    const values = [
      { note: 'say "hi"\n\\', code: 'KH', tags: ['a', 'b"c'], either: 'x"', none: null, flag: false },
      { note: '\ud800', code: 'KH', tags: [], maybe: -0, either: 3.5, none: 'ok', flag: true },
    ];
    for (const value of values) expect(write(schema.parse(value))).toBe(JSON.stringify(schema.parse(value)));
    expect(compileJsonWriter(z.array(z.string().optional()))?.(['a', undefined])).toBe('["a",null]');
  });

  it('declines objects whose output it cannot name key by key', () => {
    expect(compileJsonWriter(z.object({ a: z.string() }).loose())).toBeUndefined();
    expect(compileJsonWriter(z.object({ a: z.string() }).catchall(z.string()))).toBeUndefined();
    expect(compileJsonWriter(z.strictObject({ ['__proto__']: z.string() }))).toBeUndefined();
    expect(compileJsonWriter('not a schema')).toBeUndefined();
  });
});
