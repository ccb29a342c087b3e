import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDataKey, openText, sealText } from './sealing.js';

const context = {
  eventId: '0190a6f2-7c1e-7b3a-9f00-000000000001',
  eventType: 'CaseDisclosed',
  field: 'narrative',
};

/** Flips one bit of a base64url string's bytes, keeping its length. */
const flip = (value: string, byte = 0): string => {
  const bytes = Buffer.from(value, 'base64url');
  bytes[byte] = (bytes[byte] ?? 0) ^ 0x01;
  return bytes.toString('base64url');
};

describe('sealing a protected field', () => {
  it('opens what it sealed, for any text (open ∘ seal is identity)', () => {
    const key = createDataKey();
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 }), (text) => {
        expect(openText(key, sealText(key, text, context), context)).toBe(text);
      }),
    );
  });

  it('gives a fresh iv each time, and a 12-byte iv and 16-byte tag in base64url', () => {
    const key = createDataKey();
    const a = sealText(key, 'the same words', context);
    const b = sealText(key, 'the same words', context);
    expect(a.iv).not.toBe(b.iv);
    expect(a.ct).not.toBe(b.ct);
    expect(Buffer.from(a.iv, 'base64url')).toHaveLength(12);
    expect(Buffer.from(a.tag, 'base64url')).toHaveLength(16);
    expect(a.alg).toBe('A256GCM');
    expect(JSON.stringify(a)).not.toContain('the same words');
  });

  it('refuses a wrong key, and an altered ciphertext, tag or iv', () => {
    const key = createDataKey();
    const sealed = sealText(key, 'she was taken to the border', context);
    expect(() => openText(createDataKey(), sealed, context)).toThrow();
    expect(() => openText(key, { ...sealed, ct: flip(sealed.ct) }, context)).toThrow();
    expect(() => openText(key, { ...sealed, tag: flip(sealed.tag) }, context)).toThrow();
    expect(() => openText(key, { ...sealed, iv: flip(sealed.iv) }, context)).toThrow();
  });

  it('binds the value to its event and field: moved elsewhere, it does not open', () => {
    const key = createDataKey();
    const sealed = sealText(key, 'a caregiver phone number', context);
    expect(() =>
      openText(key, sealed, { ...context, eventId: '0190a6f2-7c1e-7b3a-9f00-000000000002' }),
    ).toThrow();
    expect(() => openText(key, sealed, { ...context, eventType: 'ChildPlacedSafely' })).toThrow();
    expect(() => openText(key, sealed, { ...context, field: 'placementAddress' })).toThrow();
    // Ids are uuids and compare without regard to case, as stores keep them.
    expect(openText(key, sealed, { ...context, eventId: context.eventId.toUpperCase() })).toBe(
      'a caregiver phone number',
    );
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => sealText(new Uint8Array(16), 'text', context)).toThrow(/32 bytes/);
  });
});
