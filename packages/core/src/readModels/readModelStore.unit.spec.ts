import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareKeys, keyPrefixBound, keyPrefixOf } from './readModelStore.js';

describe('keyPrefixBound', () => {
  it('raises the last code point by one', () => {
    expect(keyPrefixBound('f|night-contacts|')).toBe('f|night-contacts}');
    expect(keyPrefixBound('é')).toBe('ê');
    expect(keyPrefixBound('a\u{1F600}')).toBe('a\u{1F601}');
  });

  it('steps over the surrogates and past the last code point', () => {
    expect(keyPrefixBound('a\uD7FF')).toBe('a\uE000');
    expect(keyPrefixBound('a\uFFFF')).toBe('a\u{10000}');
    expect(keyPrefixBound('a\u{10FFFF}')).toBe('b');
    expect(keyPrefixBound('\u{10FFFF}\u{10FFFF}')).toBeUndefined();
  });

  it('gives no bound for a lone surrogate, which UTF-8 cannot hold', () => {
    expect(keyPrefixBound('a\uD800')).toBeUndefined();
  });
});

describe('compareKeys', () => {
  it('orders by code point, as UTF-8 bytes sort', () => {
    const keys = [
      '\u{10000}',
      'ab',
      '\uFFFF',
      'a',
      '\uE000',
      '\uD7FF',
      '\u{10FFFF}',
      'a\u{1F600}',
      'a\uFFFD',
    ];
    expect([...keys].sort(compareKeys)).toEqual([
      'a',
      'ab',
      'a\uFFFD',
      'a\u{1F600}',
      '\uD7FF',
      '\uE000',
      '\uFFFF',
      '\u{10000}',
      '\u{10FFFF}',
    ]);
  });

  it('agrees with the order of the texts as UTF-8 bytes', () => {
    const bytes = (text: string) => Buffer.from(text, 'utf8');
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        expect(Math.sign(compareKeys(a, b))).toBe(Math.sign(Buffer.compare(bytes(a), bytes(b))));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('keyPrefixOf', () => {
  it('reads every document for no prefix or an empty one', () => {
    expect(keyPrefixOf(undefined)).toBeUndefined();
    expect(keyPrefixOf({})).toBeUndefined();
    expect(keyPrefixOf({ keyPrefix: '' })).toBeUndefined();
    expect(keyPrefixOf({ keyPrefix: 'k|' })).toBe('k|');
  });

  it('refuses a prefix that is not text, saying what to give', () => {
    expect(() => keyPrefixOf({ keyPrefix: 1 as unknown as string })).toThrow(
      "documents' keyPrefix must be text (the start of the keys wanted); got number. Leave it out to read every document.",
    );
  });
});
