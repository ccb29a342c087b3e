import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isValidationError, ValidationError } from '../errors/errors.js';
import { CaseDisclosed, type CatalogEventData, ChildPlacedSafely } from '../events/catalog.js';
import { childRef } from '../events/common.js';
import { defineEvent } from '../events/defineEvent.js';
import { createEventRegistry } from '../events/registry.js';
import { isRedacted, isSealedField, protectedText, redacted } from './protectedFields.js';
import { createDataKey, sealText } from './sealing.js';

const disclosure: CatalogEventData<'CaseDisclosed'> = {
  programmeId: 'psk-phnom-penh',
  caseId: 'PP-2020-014',
  childRef: 'ch_3f9a1c0b7e2d4a61',
  sex: 'female',
  ageBand: '12-17',
  area: 'KH-12-09',
  concerns: ['trafficking'],
  disclosedVia: 'outreach',
};
const metadata = { occurredAt: '2020-05-31T23:30:00+07:00', recordedBy: 'st_00000000000000a1' };

describe('protected fields in event definitions', () => {
  it('exposes which fields are protected and whose key seals them', () => {
    expect(CaseDisclosed.protection).toEqual({ subject: 'childRef', fields: ['narrative'] });
    expect(ChildPlacedSafely.protection).toEqual({
      subject: 'childRef',
      fields: ['caregiverContact', 'placementAddress'],
    });
  });

  it('stores only the sealed form: plaintext is refused, saying to append through the protecting store', () => {
    try {
      CaseDisclosed.parse({ ...disclosure, narrative: 'she said her uncle sold her' });
      expect.unreachable('plaintext in a protected field must be refused by the stored schema');
    } catch (error) {
      expect(isValidationError(error)).toBe(true);
      const e = error as ValidationError;
      expect(e.path).toBe('data.narrative');
      expect(e.message).toMatch(/createProtectedEventStore/);
      expect(e.message).not.toContain('uncle');
    }
    const registry = createEventRegistry([CaseDisclosed]);
    const event = CaseDisclosed.toNew({ ...disclosure, narrative: 'she said her uncle sold her' }, metadata);
    expect(() => registry.validateBatch([event])).toThrow(/protected field.*createProtectedEventStore/);
  });

  it('accepts a sealed value, and events without the optional protected field', () => {
    const sealed = sealText(createDataKey(), 'words', {
      eventId: 'x',
      eventType: 'CaseDisclosed',
      field: 'narrative',
    });
    expect(CaseDisclosed.parse({ ...disclosure, narrative: sealed }).narrative).toEqual(sealed);
    expect(CaseDisclosed.parse(disclosure)).toEqual(disclosure);
    expect(isSealedField(sealed)).toBe(true);
    expect(() => CaseDisclosed.parse({ ...disclosure, narrative: { ...sealed, extra: 1 } })).toThrow(
      ValidationError,
    );
    expect(() => CaseDisclosed.parse({ ...disclosure, narrative: { ...sealed, iv: 'short' } })).toThrow(
      /12-byte iv/,
    );
    expect(() => CaseDisclosed.parse({ ...disclosure, narrative: redacted('erased') })).toThrow(
      ValidationError,
    );
  });

  it('lets apps write plaintext through create and toNew, checked against its maximum', () => {
    const event = CaseDisclosed.toNew({ ...disclosure, narrative: 'she said her uncle sold her' }, metadata);
    expect(event.data.narrative).toBe('she said her uncle sold her');
    expect(CaseDisclosed.create({ ...disclosure, narrative: 'words' }).data.narrative).toBe('words');
    expect(() => CaseDisclosed.create({ ...disclosure, narrative: 'x'.repeat(4001) })).toThrow(
      /data\.narrative.*at most 4000 characters/,
    );
    expect(() => CaseDisclosed.create({ ...disclosure, narrative: '' })).toThrow(/data\.narrative.*empty/);
    // The other fields are still checked.
    expect(() => CaseDisclosed.create({ ...disclosure, ageBand: '9' as never, narrative: 'words' })).toThrow(
      /data\.ageBand/,
    );
  });

  it('checks the protection when the event is defined', () => {
    const schema = z.strictObject({
      childRef,
      note: protectedText({ max: 100 }).optional(),
      count: z.number(),
    });
    expect(() =>
      defineEvent({ type: 'NoteTaken', schema, protection: { subject: 'childRef', fields: ['notes'] } }),
    ).toThrow(/"notes", which is not a top-level field/);
    expect(() =>
      defineEvent({ type: 'NoteTaken', schema, protection: { subject: 'child', fields: ['note'] } }),
    ).toThrow(/subject "child" is not a field/);
    expect(() =>
      defineEvent({
        type: 'NoteTaken',
        schema,
        protection: { subject: 'childRef', fields: ['note', 'count'] },
      }),
    ).toThrow(/"count", which is not a protectedText field/);
    expect(() =>
      defineEvent({ type: 'NoteTaken', schema, protection: { subject: 'childRef', fields: [] } }),
    ).toThrow(/at least one/);
    // A protectedText field left out of protection would be stored sealed by nobody: refused.
    expect(() => defineEvent({ type: 'NoteTaken', schema })).toThrow(/note is a protectedText field/);
    const defined = defineEvent({
      type: 'NoteTaken',
      schema,
      protection: { subject: 'childRef', fields: ['note'] },
    });
    expect(defined.protection).toEqual({ subject: 'childRef', fields: ['note'] });
  });

  it('refuses a protectedText without a sensible maximum', () => {
    expect(() => protectedText({ max: 0 })).toThrow(TypeError);
    expect(() => protectedText({ max: 1.5 })).toThrow(TypeError);
  });

  it('tells redaction markers apart from text and sealed values', () => {
    expect(isRedacted({ redacted: 'erased' })).toBe(true);
    expect(isRedacted({ redacted: 'no-key' })).toBe(true);
    expect(isRedacted({ redacted: 'tampered' })).toBe(true);
    expect(isRedacted({ redacted: 'not-permitted' })).toBe(true);
    expect(isRedacted({ redacted: 'gone' })).toBe(false);
    expect(isRedacted({ redacted: 'erased', text: 'x' })).toBe(false);
    expect(isRedacted('erased')).toBe(false);
    expect(isRedacted(null)).toBe(false);
    expect(redacted('erased')).toEqual({ redacted: 'erased' });
    expect(() => redacted('gone' as never)).toThrow(TypeError);
  });
});
