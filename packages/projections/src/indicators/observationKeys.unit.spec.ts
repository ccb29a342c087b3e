import { createMemoryEventStore, createMemoryReadModelStore } from '@lantern/adapters/memory';
import { catalogEvent } from '@lantern/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createProjectionEngine } from '../engine/projectionEngine.js';
import { fieldGetter } from './fields.js';
import { createIndicatorProjection, keyPartOf } from './indicatorProjection.js';

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

describe('observations of texts no store keeps', () => {
  it('key a value holding U+0000 or half a surrogate pair by U+FFFD, rather than stop at it', async () => {
    // A club's name is free text of staff: an indicator broken down by it meets whatever was typed.
    const projection = createIndicatorProjection({
      indicators: [
        {
          id: 'clubs-by-name',
          title: 'Clubs established, by name',
          unit: 'clubs',
          measure: 'unit',
          ascending: true,
          definition: {
            filter: { eventTypes: ['ClubEstablished'] },
            value: { kind: 'count' },
            dateField: 'data.establishedOn',
            dimensions: ['data.name'],
          },
        },
      ],
      timeZone: 'Asia/Phnom_Penh',
    });
    const eventStore = createMemoryEventStore();
    const readModels = createMemoryReadModelStore();
    const established = (clubId: string, name: string) =>
      catalogEvent(
        'ClubEstablished',
        { programmeId: 'pp', clubId, name, area: 'KH-12-06', kind: 'kids-club', establishedOn: '2019-02-01' },
        { occurredAt: '2019-02-01T09:00:00+07:00', recordedBy: 'st_00000000000000a1' },
      );
    await eventStore.append('club-a', [established('a', 'Club\u0000 A')]);
    const { position } = await eventStore.append('club-b', [established('b', 'Club \uD83D B')]);
    const engine = createProjectionEngine({ eventStore, readModels, projections: [projection] });
    await engine.start();
    await engine.waitFor(position);
    expect(engine.status()[0]).toMatchObject({ position, deadLettered: 0 });
    const observations = await readModels.documents(projection.name, 'observations');
    expect(
      observations.map((row) => [row.key, (row.document.dims as Record<string, string>)['data.name']]),
    ).toEqual([
      ['f|clubs-by-name|2019-02|Club \uFFFD B', 'Club \uFFFD B'],
      ['f|clubs-by-name|2019-02|Club\uFFFD A', 'Club\uFFFD A'],
    ]);
    await engine.stop();
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
