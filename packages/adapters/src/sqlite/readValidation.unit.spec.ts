import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonExact, primitivesPlain } from './readValidation.js';

/** The reference: JSON's own answer, by parsing the text back and comparing deeply. */
const sameAsJson = (a: unknown, b: unknown): boolean => {
  if (Object.is(a, b) || (a === 0 && b === 0)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => sameAsJson(item, b[i]));
  }
  const keys = (o: object) => Object.keys(o).filter((k) => (o as Record<string, unknown>)[k] !== undefined);
  const keysA = keys(a);
  return (
    keysA.length === keys(b).length &&
    keysA.every(
      (k) =>
        Object.hasOwn(b, k) &&
        sameAsJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
    )
  );
};

/** What checksumFor decides from a value: trusted without parsing its text back, or not. */
const trusted = (data: unknown): boolean => primitivesPlain() && jsonExact(data);

describe('checksums on append: values trusted without parsing their text back', () => {
  it('trust a value without parsing its text back only when the text reads back as the value', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withBoxedValues: true,
          withDate: true,
          withMap: true,
          withSet: true,
          withNullPrototype: true,
          withSparseArray: true,
          withTypedArray: true,
          withObjectString: true,
        }),
        (value) => {
          const data = { value };
          let text: string;
          try {
            text = JSON.stringify(data);
          } catch {
            return;
          }
          // Trusted only when faithful; an untrusted value is parsed back and compared instead.
          if (trusted(data)) expect(sameAsJson(JSON.parse(text), data)).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('are not written for values JSON changes on the way', () => {
    class Point {
      x = 1;
    }
    const withToJSON = { a: 1, toJSON: () => ({ a: 2 }) };
    for (const value of [
      new Date(0),
      [1, undefined, 2],
      // biome-ignore lint/suspicious/noSparseArray: a hole is what is tested
      [1, , 2],
      Number.NaN,
      Number.POSITIVE_INFINITY,
      new Point(),
      withToJSON,
      new Map([[1, 2]]),
      [() => 1],
    ]) {
      expect(trusted({ value })).toBe(false);
    }
    expect(trusted({ value: { a: [1, 'x', null, true, { b: -0 }], c: undefined } })).toBe(true);
    expect(trusted({ value: Object.assign(Object.create(null), { a: 1 }) })).toBe(true);
  });

  it('are not written when a primitive would be serialised through a toJSON of its prototype', () => {
    const proto = String.prototype as { toJSON?: () => string };
    proto.toJSON = () => 'changed';
    try {
      expect(trusted({ value: 'text' })).toBe(false);
    } finally {
      delete proto.toJSON;
    }
    expect(trusted({ value: 'text' })).toBe(true);
  });
});
