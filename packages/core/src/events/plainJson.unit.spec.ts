import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyFields, jsonProblem, keepableTextOf, unkeepableTextRule } from './plainJson.js';

/** Deep equality that, like any reader of a number, takes -0 for 0 (JSON writes both as 0). */
const same = (a: unknown, b: unknown): boolean => {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length &&
    keys.every(
      (key) =>
        Object.hasOwn(b, key) &&
        same((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
    )
  );
};

describe('jsonProblem', () => {
  it('finds nothing in values JSON keeps as they are, and they do read back the same', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(jsonProblem(value)).toBeUndefined();
        expect(same(JSON.parse(JSON.stringify(value)), value)).toBe(true);
      }),
    );
  });

  it('names the first value JSON would change or drop, with where it is', () => {
    class Point {
      x = 1;
    }
    const cases: [unknown, string, RegExp][] = [
      [{ a: [1, 2n] }, 'a.1', /BigInt/],
      [{ at: new Date(0) }, 'at', /Date/],
      [[Number.POSITIVE_INFINITY], '0', /Infinity, which JSON keeps as null/],
      [{ f: () => 1 }, 'f', /function/],
      [{ s: new Set([1]) }, 's', /Set/],
      [{ p: new Point() }, 'p', /instance of Point/],
      [{ o: Object.create({ inherited: 1 }) }, 'o', /inherits/],
      [{ j: { toJSON: () => 'x' } }, 'j', /toJSON/],
      [[1, undefined], '1', /undefined/],
      // biome-ignore lint/suspicious/noSparseArray: the hole is what is checked
      [[1, , 3], '1', /hole/],
      [Symbol('s'), '', /symbol/],
    ];
    for (const [value, path, rule] of cases) {
      const found = jsonProblem(value);
      expect(found?.path).toBe(path);
      expect(found?.rule).toMatch(rule);
      expect(found?.fix.length).toBeGreaterThan(0);
    }
  });

  it('tells a cycle from the same object met twice side by side', () => {
    const shared = { n: 1 };
    expect(jsonProblem({ a: shared, b: shared })).toBeUndefined();
    const cycle: { self?: unknown; list: unknown[] } = { list: [] };
    cycle.list.push(cycle);
    const found = jsonProblem(cycle);
    expect(found?.path).toBe('list.0');
    expect(found?.rule).toMatch(/refers back/);
  });

  it('allows an object property that is undefined, which JSON leaves out', () => {
    expect(jsonProblem({ a: 1, note: undefined })).toBeUndefined();
  });
});

describe('unkeepableTextRule', () => {
  it('names U+0000 and half of a surrogate pair, and lets whole characters through', () => {
    expect(unkeepableTextRule('ch_9c0ae44271b4ca59')).toBeUndefined();
    expect(unkeepableTextRule('Phnom Penh \u{1F600} ភ្នំពេញ')).toBeUndefined();
    expect(unkeepableTextRule('a\u0000')).toMatch(/U\+0000/);
    expect(unkeepableTextRule('\uD800')).toMatch(/half of a surrogate pair/);
    expect(unkeepableTextRule('\uDC00\uD800')).toMatch(/half of a surrogate pair/);
    expect(unkeepableTextRule('\uD83D\uDE00\uD83D')).toMatch(/half of a surrogate pair/);
  });

  it('passes exactly the texts without U+0000 that UTF-8 gives back as they are', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', '\u0000', '\uD83D', '\uDE00', '\uE000', 'é') }),
        (text) => {
          const roundTrips = Buffer.from(text, 'utf8').toString('utf8') === text;
          expect(unkeepableTextRule(text) === undefined).toBe(roundTrips && !text.includes('\u0000'));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('is checked in values and field names when jsonProblem is asked for texts', () => {
    expect(jsonProblem({ t: 'a\u0000' })).toBeUndefined();
    expect(jsonProblem({ t: 'a\u0000' }, { texts: true })).toMatchObject({
      path: 't',
      rule: expect.stringMatching(/U\+0000/),
    });
    expect(jsonProblem({ list: [{ t: '\uD800' }] }, { texts: true })?.path).toBe('list.0.t');
    expect(jsonProblem({ 'n\u0000': 1 }, { texts: true })).toMatchObject({
      path: 'n\\u0000',
      rule: expect.stringMatching(/field name that holds U\+0000/),
    });
    expect(jsonProblem({ fine: 'x\u{1F600}' }, { texts: true })).toBeUndefined();
  });
});

describe('keepableTextOf', () => {
  it('replaces U+0000 and halves of surrogate pairs with U+FFFD, and leaves whole characters', () => {
    expect(keepableTextOf('ok \u{1F600}')).toBe('ok \u{1F600}');
    expect(keepableTextOf('a\u0000b\uD800c\uDE00')).toBe('a\uFFFDb\uFFFDc\uFFFD');
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '\u0000', '\uD83D', '\uDE00') }), (text) => {
        const kept = keepableTextOf(text);
        expect(unkeepableTextRule(kept)).toBeUndefined();
        expect(kept.length).toBe(text.length);
      }),
      { numRuns: 300 },
    );
  });
});

describe('copyFields', () => {
  const fieldsOf = (count: number, withProto: boolean): Record<string, unknown> => {
    const value: Record<string, unknown> = Object.create(null);
    for (let i = 0; i < count; i++) value[`child-${i}`] = i;
    if (withProto) Object.defineProperty(value, '__proto__', { value: 'own', enumerable: true });
    return value;
  };

  it('copies few fields and many, each through the callback, into an ordinary object', () => {
    for (const count of [0, 1, 12, 13, 64, 600]) {
      for (const source of [fieldsOf(count, false), { ...fieldsOf(count, false) }]) {
        const copy = copyFields(source, (key, inner) => `${key}=${String(inner)}`) as Record<string, unknown>;
        expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
        expect(Object.keys(copy)).toEqual(Object.keys(source));
        for (const key of Object.keys(source)) expect(copy[key]).toBe(`${key}=${String(source[key])}`);
        expect('hasOwnProperty' in copy).toBe(true);
      }
    }
  });

  it('keeps a field named __proto__ as the copy’s own, in few fields and in many', () => {
    for (const count of [2, 40]) {
      const copy = copyFields(fieldsOf(count, true), (_key, inner) => inner) as Record<string, unknown>;
      expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
      expect(Object.hasOwn(copy, '__proto__')).toBe(true);
      expect(Object.getOwnPropertyDescriptor(JSON.parse(JSON.stringify(copy)), '__proto__')?.value).toBe(
        'own',
      );
      expect(Object.keys(copy)).toHaveLength(count + 1);
    }
  });

  it('gives undefined as soon as the callback does, without asking about the fields after', () => {
    for (const count of [5, 30]) {
      const asked: string[] = [];
      const copy = copyFields(fieldsOf(count, false), (key, inner) => {
        asked.push(key);
        return inner === 3 ? undefined : inner;
      });
      expect(copy).toBeUndefined();
      expect(asked).toEqual(['child-0', 'child-1', 'child-2', 'child-3']);
    }
  });
});
