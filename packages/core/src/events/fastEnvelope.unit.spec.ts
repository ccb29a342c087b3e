import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventId, eventMetadataSchema } from './envelope.js';
import { fastEnvelopePatterns, fastMetadataText, isEventIdFast, parseMetadataFast } from './fastEnvelope.js';

const hex = (min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: min, maxLength: max });
const anyHex = (length: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFgG'), minLength: length, maxLength: length });

/** Uuids, near-uuids (wrong version or variant digit, case, length) and other strings and values. */
const uuidLike = fc.oneof(
  fc.uuid(),
  fc.uuid().map((id) => id.toUpperCase()),
  fc
    .tuple(
      anyHex(8),
      anyHex(4),
      fc.constantFrom(...'0123456789a'),
      anyHex(3),
      fc.constantFrom(...'789abcAB0c'),
      anyHex(3),
      anyHex(12),
    )
    .map(([a, b, v, c, w, d, e]) => `${a}-${b}-${v}${c}-${w}${d}-${e}`),
  fc.constantFrom(
    '00000000-0000-0000-0000-000000000000',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
  ),
  fc.uuid().map((id) => `${id}\n`),
  fc.string(),
  fc.anything(),
);

const instantLike = fc.oneof(
  fc
    .tuple(
      fc.integer({ min: 0, max: 9999 }),
      fc.integer({ min: 0, max: 13 }),
      fc.integer({ min: 0, max: 32 }),
      fc.integer({ min: 0, max: 25 }),
      fc.constantFrom('', '.5', '.123456', '.'),
      fc.constantFrom('Z', '+07:00', '-05:30', '+24:00', '', 'z', '+0700'),
    )
    .map(
      ([y, mo, d, h, frac, zone]) =>
        `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:30:00${frac}${zone}`,
    ),
  fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
  fc.string(),
  fc.anything(),
);

const staffLike = fc.oneof(
  hex(16, 64).map((h) => `st_${h}`),
  hex(0, 70).map((h) => `st_${h}`),
  hex(16, 20).map((h) => `ch_${h}`),
  fc.string(),
  fc.anything(),
);

const versionLike = fc.oneof(
  fc.integer({ min: -3, max: 5 }),
  fc.constantFrom(-0, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, 2 ** 53 - 1, 2 ** 60),
  fc.double(),
  fc.anything(),
);

const keyOf = fc.constantFrom(
  'occurredAt',
  'recordedBy',
  'correlationId',
  'causationId',
  'schemaVersion',
  'other',
  '__proto__',
);

/** Metadata objects, valid or slightly off: missing, extra, undefined or wrongly shaped keys. */
const metadataLike = fc.oneof(
  fc.record(
    {
      occurredAt: instantLike,
      recordedBy: staffLike,
      correlationId: fc.oneof(uuidLike, fc.constant(undefined)),
      causationId: fc.oneof(uuidLike, fc.constant(undefined)),
      schemaVersion: versionLike,
    },
    { requiredKeys: [] },
  ),
  fc.record(
    {
      occurredAt: fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
      recordedBy: hex(16, 64).map((h) => `st_${h}`),
      correlationId: fc.uuid(),
      causationId: fc.uuid(),
      schemaVersion: fc.integer({ min: 1, max: 9 }),
    },
    { requiredKeys: ['occurredAt', 'recordedBy', 'schemaVersion'] },
  ),
  fc.dictionary(keyOf, fc.anything()),
  fc.anything(),
);

describe('the fast envelope check', () => {
  it('accepts an id exactly when zod does', () => {
    fc.assert(
      fc.property(uuidLike, (id) => {
        const fast = isEventIdFast(id);
        const slow = eventId.safeParse(id).success;
        // The fast check may only pass what zod passes; a string zod passes must pass fast too.
        expect(fast).toBe(slow);
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts metadata exactly when zod does, and gives back what zod gives back', () => {
    let passed = 0;
    fc.assert(
      fc.property(metadataLike, (metadata) => {
        const fast = parseMetadataFast(metadata);
        const slow = eventMetadataSchema.safeParse(metadata);
        expect(fast !== undefined).toBe(slow.success);
        if (fast !== undefined && slow.success) {
          passed += 1;
          expect(fast).toStrictEqual(slow.data);
          expect(Object.keys(fast)).toEqual(Object.keys(slow.data));
          expect(JSON.stringify(fast)).toBe(JSON.stringify(slow.data));
          expect(fastMetadataText(fast)).toBe(JSON.stringify(slow.data));
        }
      }),
      { numRuns: 5000 },
    );
    // The generators reach both sides.
    expect(passed).toBeGreaterThan(100);
  });

  it('applies patterns that admit no character JSON escapes, so metadata text is written without escaping', () => {
    for (const [name, pattern] of Object.entries(fastEnvelopePatterns)) {
      expect(pattern, name).toBeInstanceOf(RegExp);
      fc.assert(
        fc.property(fc.stringMatching(pattern as RegExp), (matched) => {
          expect(JSON.stringify(matched)).toBe(`"${matched}"`);
        }),
        { numRuns: 2000 },
      );
    }
  });

  it('writes the metadata text of every optional key present or absent, as JSON.stringify does', () => {
    const base = {
      occurredAt: '2020-06-01T19:00:00.125+07:00',
      recordedBy: 'st_00000000000000a1',
      schemaVersion: 3,
    };
    const id = '0190c2a3-1b2c-7d4e-8f90-a1b2c3d4e5f6';
    for (const extra of [
      {},
      { correlationId: id },
      { causationId: id },
      { correlationId: id, causationId: id },
    ]) {
      const parsed = parseMetadataFast({ ...base, ...extra });
      expect(parsed).toBeDefined();
      const text = fastMetadataText(parsed as NonNullable<typeof parsed>);
      expect(text).toBe(JSON.stringify(parsed));
      expect(JSON.parse(text)).toStrictEqual({ ...base, ...extra });
    }
  });

  it('leaves metadata that is not a plain object to zod', () => {
    class Meta {
      occurredAt = '2020-06-01T19:00:00+07:00';
      recordedBy = 'st_00000000000000a1';
      schemaVersion = 1;
    }
    expect(parseMetadataFast(new Meta())).toBeUndefined();
    expect(eventMetadataSchema.safeParse(new Meta()).success).toBe(true);
  });
});
