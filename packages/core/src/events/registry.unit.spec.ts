import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError } from '../errors/errors.js';
import { defineEvent } from './defineEvent.js';
import { createEventRegistry } from './registry.js';

const Lit = defineEvent({ type: 'LampLit', schema: z.strictObject({ lampId: z.string() }) });
const registry = createEventRegistry([Lit]);
const metadata = {
  occurredAt: '2020-06-01T19:00:00+07:00',
  recordedBy: 'st_00000000000000a1',
  schemaVersion: 1,
};
const event = (id: string, data: unknown = { lampId: 'a' }) => ({ id, type: 'LampLit', data, metadata });
const idA = '0192f5c4-1c2e-7b4a-9d3e-5f6a7b8c9d0e';
const idB = '0192f5c4-1c2e-7b4a-9d3e-5f6a7b8c9d0f';

describe('event registry', () => {
  it('accepts a valid batch', () => {
    expect(registry.validateBatch([event(idA), event(idB)])).toHaveLength(2);
  });

  it('refuses an unknown type, naming it', () => {
    expect(() => registry.validateBatch([{ ...event(idA), type: 'LampSmashed' }])).toThrow(
      /LampSmashed.*unknown event type/,
    );
  });

  it('refuses an empty batch', () => {
    expect(() => registry.validateBatch([])).toThrow(/at least one event/);
  });

  it('refuses a batch that repeats an event id', () => {
    expect(() => registry.validateBatch([event(idA), event(idA)])).toThrow(/appears twice/);
  });

  it('gives ids back in lowercase, and takes two spellings of one id for a repeat', () => {
    expect(registry.validateBatch([event(idA.toUpperCase())]).map((valid) => valid.id)).toEqual([idA]);
    expect(() => registry.validateBatch([event(idA), event(idA.toUpperCase())])).toThrow(/appears twice/);
  });

  it('refuses an id that is not a uuid, and metadata without an offset', () => {
    expect(() => registry.validateBatch([event('1')])).toThrow(ValidationError);
    expect(() =>
      registry.validateBatch([
        { ...event(idA), metadata: { ...metadata, occurredAt: '2020-06-01T19:00:00' } },
      ]),
    ).toThrow(/metadata\.occurredAt/);
  });

  it('refuses a staff name where the recorder pseudonym belongs', () => {
    expect(() =>
      registry.validateBatch([{ ...event(idA), metadata: { ...metadata, recordedBy: 'Sokha' } }]),
    ).toThrow(/metadata\.recordedBy/);
  });

  it('refuses metadata fields it does not know', () => {
    expect(() =>
      registry.validateBatch([
        { ...event(idA), metadata: { ...metadata, note: 'child is Lisa' } as typeof metadata },
      ]),
    ).toThrow(ValidationError);
  });

  it('refuses a schema version newer than this build reads', () => {
    expect(() =>
      registry.validateBatch([{ ...event(idA), metadata: { ...metadata, schemaVersion: 2 } }]),
    ).toThrow(/upgrade Lantern/);
  });

  it('refuses a type defined twice', () => {
    expect(() => createEventRegistry([Lit, Lit])).toThrow(/defined twice/);
  });

  it('validates on read and names the failing field', () => {
    const stored = {
      ...event(idA, { lampId: 7 }),
      streamId: 'lamp-a',
      revision: 0n,
      position: 1n,
      recordedAt: '2020-06-01T12:00:00.000Z',
    };
    expect(() => registry.readRecorded(stored)).toThrow(/LampLit.*data\.lampId/);
  });
});

describe('defineEvent', () => {
  it('refuses a name that is not PascalCase', () => {
    expect(() => defineEvent({ type: 'lamp_lit', schema: z.object({}) })).toThrow(/PascalCase/);
  });

  it('refuses upcasters that skip a version', () => {
    expect(() =>
      defineEvent({
        type: 'LampLit',
        schemaVersion: 3,
        schema: z.object({}),
        upcasters: [{ fromVersion: 1, schema: z.object({}), up: (d: object) => d }],
      }),
    ).toThrow(/every version/);
  });

  it('creates events ready to append with a uuid and the schema version', () => {
    const created = Lit.toNew(
      { lampId: 'x' },
      { occurredAt: metadata.occurredAt, recordedBy: metadata.recordedBy },
    );
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata.schemaVersion).toBe(1);
    expect(Lit.is(created)).toBe(true);
  });
});
