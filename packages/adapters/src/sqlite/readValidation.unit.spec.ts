import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import {
  ClubSessionHeld,
  createEventRegistry,
  defineEvent,
  eventMetadataSchema,
  isPlainJson,
} from '@lantern/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  crc32AfterNul,
  createReadValidation,
  describeSchema,
  joinTexts,
  primitivesPlain,
} from './readValidation.js';

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
const trusted = (data: unknown): boolean => primitivesPlain() && isPlainJson(data);

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

describe('checksums over metadata and data in turn', () => {
  const uint32 = fc.integer({ min: 0, max: 0xffffffff });

  it("step over the NUL between them as zlib's crc32 does", () => {
    fc.assert(
      fc.property(uint32, (crc) => crc32AfterNul(crc) === crc32('\u0000', crc)),
      { numRuns: 20_000 },
    );
    for (const crc of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff]) {
      expect(crc32AfterNul(crc)).toBe(crc32('\u0000', crc));
    }
  });

  it('give the checksum of the joined text, which reads verify', () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.json());
    fc.assert(
      fc.property(text, text, uint32, (metadataText, dataText, seed) => {
        const inTurn = crc32(dataText, crc32AfterNul(crc32(metadataText, seed)));
        return inTurn === crc32(joinTexts(metadataText, dataText), seed);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('checksums on read', () => {
  const Lit = defineEvent({
    type: 'LampLit',
    schema: ClubSessionHeld.schema.refine((session) => session.clubId !== 'x', 'not x'),
  });
  const registry = createEventRegistry([Lit]);
  const metadataText = JSON.stringify({
    occurredAt: '2020-06-01T19:00:00+07:00',
    recordedBy: 'st_00000000000000a1',
    schemaVersion: 1,
  });
  const dataText = JSON.stringify({
    clubId: 'riverfront-1',
    heldOn: '2019-03-02',
    activity: 'healing-arts',
    attendance: [{ sex: 'female', ageBand: '5-11', count: 7 }],
  });
  /** A checksum as files written before fingerprints left function text out carry it. */
  const v1Checksum = (): number => {
    const fingerprint = createHash('sha256')
      .update('lantern-read-checksum-v1\u0000LampLit\u00001\u0000')
      .update(describeSchema(eventMetadataSchema, true))
      .update('\u0000')
      .update(describeSchema(Lit.schema, true))
      .digest('hex');
    return crc32(`${metadataText}\u0000${dataText}`, crc32(fingerprint));
  };

  it('verify rows checksummed now, and rows of files written under v1 fingerprints', () => {
    const validation = createReadValidation(registry, true);
    const now = validation.checksumFor(
      'LampLit',
      1,
      metadataText,
      dataText,
      JSON.parse(metadataText),
      JSON.parse(dataText),
    );
    expect(now).not.toBeNull();
    expect(validation.verified('LampLit', 1, joinTexts(metadataText, dataText), now)).toBe(true);
    expect(validation.verified('LampLit', 1, joinTexts(metadataText, dataText), v1Checksum())).toBe(true);
  });

  it('refuse a checksum of other text, another version, or none', () => {
    const validation = createReadValidation(registry, true);
    const checksum = v1Checksum();
    expect(
      validation.verified(
        'LampLit',
        1,
        joinTexts(metadataText, dataText.replace('riverfront', 'hillside')),
        checksum,
      ),
    ).toBe(false);
    expect(validation.verified('LampLit', 2, joinTexts(metadataText, dataText), checksum)).toBe(false);
    expect(validation.verified('LampLit', 1, joinTexts(metadataText, dataText), null)).toBe(false);
    expect(validation.verified('LampLit', 1, joinTexts(metadataText, dataText), (checksum + 1) >>> 0)).toBe(
      false,
    );
  });

  it('describe a schema by its shape and checks, without the source text of its functions', () => {
    const base = ClubSessionHeld.schema;
    const a = base.refine((s) => s.attendance.length > 0, 'attended');
    const b = base.refine((session) => session.attendance.length > 0, 'attended');
    const c = a.refine((s) => s.attendance.length < 1000, 'not too many');
    const d = base;
    expect(describeSchema(a, false)).toBe(describeSchema(b, false));
    expect(describeSchema(a, false)).not.toBe(describeSchema(c, false));
    expect(describeSchema(a, false)).not.toBe(describeSchema(d, false));
    expect(describeSchema(a, true)).not.toBe(describeSchema(b, true));
  });
});
