import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fieldGetter } from './fields.js';
import { keyPartOf } from './indicatorProjection.js';

describe('observation keys', () => {
  /** Reads a key's parts back: a backslash takes the next character as it is, `|` starts the next part. */
  const partsOf = (key: string): string[] => {
    const parts = [''];
    for (let i = 0; i < key.length; i += 1) {
      const char = key[i] as string;
      if (char === '\\') {
        i += 1;
        parts[parts.length - 1] += key[i] ?? '';
      } else if (char === '|') parts.push('');
      else parts[parts.length - 1] += char;
    }
    return parts;
  };

  it('keeps any two different lists of parts apart, whatever bars and backslashes they hold', () => {
    // A key is its parts joined: month, dimension values, child, ref. An indicator's keys all
    // have the same number of parts; each key reads back as exactly its parts, so no two meet.
    const part = fc.string({ unit: fc.constantFrom('a', 'b', '|', '\\', '-') });
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 4 }), (parts) => {
        expect(partsOf(keyPartOf(parts))).toEqual(parts);
      }),
      { numRuns: 2000 },
    );
  });

  it('writes plain parts as they are, so an analyst can read the keys', () => {
    expect(keyPartOf([])).toBe('');
    expect(keyPartOf(['female', '12-17', 'KH-12-06'])).toBe('female|12-17|KH-12-06');
    expect(keyPartOf(['a|b', 'c\\d'])).toBe('a\\|b|c\\\\d');
  });
});

describe('field paths', () => {
  const source = { data: { area: 'KH-12-06', contact: { count: 3 }, note: 'text' }, metadata: { by: 'st' } };

  it('read data, metadata and the element, at any depth', () => {
    expect(fieldGetter('data.area')(source)).toBe('KH-12-06');
    expect(fieldGetter('data.contact.count')(source)).toBe(3);
    expect(fieldGetter('metadata.by')(source)).toBe('st');
    expect(fieldGetter('item')({ ...source, item: 'ch_1' })).toBe('ch_1');
    expect(fieldGetter('item.count')({ ...source, item: { count: 2 } })).toBe(2);
    expect(fieldGetter('data')(source)).toBe(source.data);
  });

  it('give undefined wherever a path leads nowhere', () => {
    expect(fieldGetter('data.missing.count')(source)).toBeUndefined();
    expect(fieldGetter('data.note.length')(source)).toBeUndefined();
    expect(fieldGetter('item.count')(source)).toBeUndefined();
    expect(fieldGetter('item.count')({ ...source, item: null })).toBeUndefined();
    expect(fieldGetter('other.area')(source)).toBeUndefined();
  });
});
